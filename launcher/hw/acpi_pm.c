/* launcher/hw/acpi_pm.c: ACPI PM1a event/control registers and PM timer; S5 ends the VM. */
#include "acpi_pm.h"

#include <stdlib.h>

struct acpi_pm {
	struct hw_clock clock;
	uint64_t t0_ns;
	void (*poweroff)(void *ctx);
	void *ctx;

	uint16_t sts;
	uint16_t en;
	uint16_t cnt;
	bool off;
};

struct acpi_pm *acpi_pm_create(const struct hw_clock *clock,
			       void (*poweroff)(void *ctx), void *ctx)
{
	struct acpi_pm *pm;

	if (!clock || !clock->now_ns)
		return NULL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->clock = *clock;
	pm->t0_ns = hw_clock_now(clock);
	pm->poweroff = poweroff;
	pm->ctx = ctx;
	/*
	 * The FADT has no SMI command port, which tells the OS the machine
	 * is always in ACPI mode; SCI_EN must read as set to match.
	 */
	pm->cnt = ACPI_PM1_SCI_EN;
	return pm;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	free(pm);
}

bool acpi_pm_powered_off(const struct acpi_pm *pm)
{
	return pm->off;
}

/* Ticks of the 3.579545 MHz timer since creation, split to avoid overflow. */
static uint32_t acpi_pm_timer(const struct acpi_pm *pm)
{
	uint64_t ns = hw_clock_now(&pm->clock) - pm->t0_ns;
	uint64_t sec = ns / 1000000000u, rem = ns % 1000000000u;

	return (uint32_t)(sec * ACPI_PM_TMR_HZ +
			  rem * ACPI_PM_TMR_HZ / 1000000000u);
}

static uint8_t acpi_pm_read_byte(struct acpi_pm *pm, unsigned int off)
{
	switch (off) {
	case 0: case 1:
		return pm->sts >> (8 * (off & 1));
	case 2: case 3:
		return pm->en >> (8 * (off & 1));
	case 4: case 5:
		/* SLP_EN is write-only and reads as zero. */
		return (pm->cnt & ~ACPI_PM1_SLP_EN) >> (8 * (off & 1));
	case 8: case 9: case 10: case 11:
		return acpi_pm_timer(pm) >> (8 * (off - 8));
	default:
		return 0xff;
	}
}

static void acpi_pm_write_cnt(struct acpi_pm *pm, uint16_t val)
{
	unsigned int typ = (val & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;

	/* SCI_EN stays set: without an SMI port the OS cannot leave ACPI mode. */
	pm->cnt = (val & ~ACPI_PM1_SLP_EN) | ACPI_PM1_SCI_EN;
	if (!(val & ACPI_PM1_SLP_EN))
		return;
	/* Only S5 is advertised in the DSDT; other sleep types do nothing. */
	if (typ == ACPI_SLP_TYP_S5 && !pm->off) {
		pm->off = true;
		if (pm->poweroff)
			pm->poweroff(pm->ctx);
	}
}

static uint64_t acpi_pm_io_read(void *dev, uint64_t offset, unsigned int size)
{
	uint64_t val = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = off < ACPI_PM_PORT_COUNT ?
			    acpi_pm_read_byte(dev, (unsigned int)off) : 0xff;

		val |= (uint64_t)b << (8 * i);
	}
	return val;
}

/*
 * Registers are 16 bits wide but guests may write them a byte at a time,
 * so each byte merges into its register; PM1_CNT acts on every write,
 * and SLP_TYP and SLP_EN share its high byte.
 */
static void acpi_pm_io_write(void *dev, uint64_t offset, unsigned int size,
			     uint64_t val)
{
	struct acpi_pm *pm = dev;
	uint16_t sts_clear = 0, en = pm->en, cnt = pm->cnt & ~ACPI_PM1_SLP_EN;
	bool en_w = false, cnt_w = false;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t off = offset + i;
		uint8_t b = val >> (8 * i);
		unsigned int sh = 8 * (off & 1);

		switch (off) {
		case 0: case 1:
			sts_clear |= (uint16_t)b << sh;
			break;
		case 2: case 3:
			en = (en & ~(0xff << sh)) | (uint16_t)b << sh;
			en_w = true;
			break;
		case 4: case 5:
			cnt = (cnt & ~(0xff << sh)) | (uint16_t)b << sh;
			cnt_w = true;
			break;
		default:
			/* The timer is read-only; other ports are unused. */
			break;
		}
	}
	pm->sts &= ~sts_clear;
	if (en_w)
		pm->en = en;
	if (cnt_w)
		acpi_pm_write_cnt(pm, cnt);
}

const struct io_ops acpi_pm_io_ops = {
	.read = acpi_pm_io_read,
	.write = acpi_pm_io_write,
};
