/* launcher/config.h: the VM file, parsed and validated into a plain struct. */
#ifndef LAUNCHER_CONFIG_H
#define LAUNCHER_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "img.h"

#define CFG_MAX_SLOTS	8
#define CFG_MAX_DISKS	4	/* IDE: primary master, slave, secondary ... */

struct cfg_slot {
	uint64_t base;
	uint64_t size;
};

enum cfg_serial { SERIAL_STDIO, SERIAL_NONE, SERIAL_FILE };
enum cfg_on_reset { ON_RESET_EXIT, ON_RESET_RESTART };
/* Where the interrupt controllers live (irqchip = "kernel" | "split" | "user"). */
enum cfg_irqchip { CFG_IRQCHIP_KERNEL, CFG_IRQCHIP_SPLIT, CFG_IRQCHIP_USER };
enum cfg_pit { CFG_PIT_KERNEL, CFG_PIT_USER };
#define CFG_MAX_VCPUS	64

/* nics = ( { model = ...; backend = ...; ... } ); */
#define CFG_MAX_NICS		8
#define CFG_MAX_HOSTFWD		8
enum cfg_nic_model { NIC_MODEL_VIRTIO, NIC_MODEL_E1000 };
enum cfg_nic_backend { NIC_BACKEND_USER, NIC_BACKEND_TAP };

/*
 * display = { type = "vnc"; listen = "127.0.0.1:5900"; vram = 16; }: QEMU's
 * standard VGA (PCI 00:02.0) shown by a frontend (ui.h): a VNC server, the
 * controlling terminal, or none ("headless": screendumps only); or no VGA.
 */
enum cfg_display { CFG_DISPLAY_NONE, CFG_DISPLAY_HEADLESS, CFG_DISPLAY_VNC, CFG_DISPLAY_TERMINAL };
#define CFG_VNC_LISTEN_DEFAULT	"127.0.0.1:5900"
#define CFG_VRAM_DEFAULT_MB	16
#define CFG_VRAM_MAX_MB		256

struct cfg_nic {
	enum cfg_nic_model model;	/* default virtio */
	enum cfg_nic_backend backend;	/* default user */
	uint8_t mac[6];			/* given, or derived from the VM name and index */
	char *ifname;			/* tap: the TAP (made when missing and allowed) */
	char *bridge;			/* tap: a bridge to join, or NULL */
	unsigned int nr_hostfwd;	/* user: "tcp:127.0.0.1:2222-:22" rules */
	char *hostfwd[CFG_MAX_HOSTFWD];
	int line;			/* of the entry, for messages after parsing */
};

struct cfg_disk {
	char *file;			/* absolute or relative to the cwd */
	enum img_format format;		/* IMG_FMT_AUTO when not given */
	bool readonly;
	bool cdrom;			/* media = "cdrom": an ATAPI CD-ROM drive */
	bool snapshot;			/* writes go to a temporary overlay */
	int line;			/* for later messages */
};

struct vm_config {
	char *path;			/* the VM file as given */
	char *name;			/* "name", default: file's base name */
	uint64_t ram_size;		/* total RAM, bytes */
	bool explicit_slots;		/* memory = ( {...}, ... ) */
	unsigned int nr_slots;
	struct cfg_slot slots[CFG_MAX_SLOTS];
	unsigned int vcpus;
	enum cfg_irqchip irqchip;	/* default: kernel */
	bool irqchip_given;		/* the file chose it (else: kernel if offered) */
	enum cfg_pit pit;		/* default: kernel with an in-kernel irqchip */
	int vcpus_line, irqchip_line, pit_line;	/* for messages after parsing */
	char *kernel, *initrd, *cmdline;	/* paths resolved */
	char *firmware;			/* BIOS boot, or NULL */
	unsigned int nr_boot_order;	/* boot.order: enum boot_dev codes (firmware.h) */
	uint8_t boot_order[2];
	bool boot_menu;			/* boot.menu: SeaBIOS shows its boot menu */
	bool unpack;			/* boot.unpack: the launcher unpacks the bzImage (default) */
	enum cfg_serial serial;
	char *serial_path;		/* SERIAL_FILE */
	unsigned int nr_disks;
	struct cfg_disk disks[CFG_MAX_DISKS];
	char *hypervisor;		/* default /dev/kvm */
	enum cfg_on_reset on_reset;
	bool rng;			/* rng = true: a virtio entropy device */
	unsigned int nr_nics;
	struct cfg_nic nics[CFG_MAX_NICS];
	enum cfg_display display;	/* default none; a group without type: headless */
	char *listen_host;		/* vnc: the address to listen on (host name or IP) */
	uint16_t listen_port;
	int display_line, listen_line;	/* for messages after parsing (a failed bind) */
	bool serial_given;		/* the file has a serial group */
	unsigned int vram_mb;		/* video memory, MiB: a power of two, 1 to 256 */
	/* Facts about the kernel found while validating it. */
	uint64_t kernel_size;
	uint64_t initrd_size;
};

/*
 * Parse and validate. On any mistake prints "file:line: setting: what is
 * wrong" to stderr and returns -1; otherwise fills cfg and returns 0.
 */
int config_load(const char *path, struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/* "256M" -> bytes; -1 on bad syntax. Exposed for the unit tests. */
int config_parse_size(const char *s, uint64_t *out);

/* "52:54:00:12:34:56" -> 6 bytes; -1 on bad syntax. */
/* "host:port", "[v6]:port" or ":port" -> host (malloc'd, NULL: any) and port; -1 on bad syntax. */
int config_parse_listen(const char *s, char **host, uint16_t *port);
int config_parse_mac(const char *s, uint8_t mac[6]);
/* The address a NIC gets without mac: 02:.., a hash of the VM name and the index. */
void config_default_mac(const char *vm_name, unsigned int index, uint8_t mac[6]);

/* How many NICs of a model; the index in nics[] of the k-th one, or -1. */
unsigned int config_nics_of_model(const struct vm_config *cfg, enum cfg_nic_model model);
int config_nth_nic(const struct vm_config *cfg, enum cfg_nic_model model, unsigned int k);

#endif
