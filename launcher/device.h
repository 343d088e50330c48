/* launcher/device.h: how a device type joins the VM without a central list. */
#ifndef LAUNCHER_DEVICE_H
#define LAUNCHER_DEVICE_H

struct vm;
struct vm_config;

/*
 * Creation stages: interrupt controllers and buses first, so that later
 * devices can look them up with vm_device(); 1 for ordinary devices.
 */
enum device_stage {
	DEVICE_STAGE_CORE = 0,		/* PIC, PCI host bridge */
	DEVICE_STAGE_BUS = 1,		/* PIIX3 ISA bridge, fw_cfg */
	DEVICE_STAGE_DEVICE = 2,	/* UART, PIT, RTC, i8042, IDE, ... */
};

/*
 * A device type. create() builds the device from vm_config(vm), registers
 * its ports, MMIO ranges and timers, stores its state in *state and returns
 * 0; on failure it prints "kvm-launch: <name>: reason" to stderr, frees what
 * it made and returns -1. A device that the VM file does not ask for
 * returns 0 with *state = NULL. destroy() is called for every non-NULL
 * state in reverse creation order; a VM reset destroys and re-creates all.
 */
struct device_type {
	const char *name;
	enum device_stage stage;
	int (*create)(struct vm *vm, void **state);
	void (*destroy)(void *state);
	/*
	 * Optional: how many instances the VM file asks for (NICs, say); each
	 * gets its own create(), state and mutex, vm_device_index() telling
	 * which. NULL: one.
	 */
	unsigned int (*instances)(const struct vm_config *cfg);
};

/*
 * DEVICE_TYPE(x) in a device's file adds &x to the linker section
 * "vm_device_types"; vm.c walks __start_/__stop_vm_device_types.
 */
#define DEVICE_TYPE(type)						\
	static const struct device_type *const device_type_ptr_##type	\
	__attribute__((used, section("vm_device_types"),		\
		       aligned(sizeof(void *)))) = &type

#endif
