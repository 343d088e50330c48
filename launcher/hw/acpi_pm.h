/* launcher/hw/acpi_pm.h: ACPI fixed hardware: PM1a event/control blocks and the PM timer. */
#ifndef HW_ACPI_PM_H
#define HW_ACPI_PM_H

#include "hw.h"

/*
 * One I/O range of ACPI_PM_PORT_COUNT ports at the base the FADT names
 * (QEMU's PIIX4 uses 0x600 too, which SeaBIOS expects):
 *   +0 PM1a_STS (16 bit, write 1 to clear)  +2 PM1a_EN (16 bit)
 *   +4 PM1a_CNT (16 bit)                   +8 PM_TMR (32 bit, 3.579545 MHz)
 */
#define ACPI_PM_BASE		0x600
#define ACPI_PM_PORT_COUNT	12
#define ACPI_PM1_EVT_OFF	0
#define ACPI_PM1_CNT_OFF	4
#define ACPI_PM_TMR_OFF		8
#define ACPI_PM1_EVT_LEN	4
#define ACPI_PM1_CNT_LEN	2
#define ACPI_PM_TMR_LEN		4
#define ACPI_PM_TMR_HZ		3579545u
#define ACPI_SCI_IRQ		9

/* PM1 status/enable bits. */
#define ACPI_PM1_TMR_STS	0x0001
#define ACPI_PM1_WAK_STS	0x8000
/* PM1 control bits. */
#define ACPI_PM1_SCI_EN		0x0001
#define ACPI_PM1_SLP_TYP_SHIFT	10
#define ACPI_PM1_SLP_TYP_MASK	0x1c00
#define ACPI_PM1_SLP_EN		0x2000

/* The SLP_TYP value the DSDT's \_S5 package names (soft off). */
#define ACPI_SLP_TYP_S5		5

struct acpi_pm;

/*
 * poweroff(ctx) runs when the guest writes SLP_EN with SLP_TYP = S5; the
 * VMM stops the VM there. No event this model has raises the SCI (no
 * fixed buttons, timer overflow not enabled by guests), so it takes no
 * interrupt line; the FADT still names IRQ 9 as ACPI requires.
 */
struct acpi_pm *acpi_pm_create(const struct hw_clock *clock,
			       void (*poweroff)(void *ctx), void *ctx);
void acpi_pm_destroy(struct acpi_pm *pm);

/* True once the guest asked for S5. */
bool acpi_pm_powered_off(const struct acpi_pm *pm);

extern const struct io_ops acpi_pm_io_ops;

#endif
