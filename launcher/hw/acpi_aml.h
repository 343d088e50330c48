/* launcher/hw/acpi_aml.h: a small AML byte-code writer for the DSDT kvm-launch builds. */
#ifndef HW_ACPI_AML_H
#define HW_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte buffer. Allocation failures latch `oom` and later calls
 * do nothing, so a builder checks once at the end.
 */
struct aml {
	uint8_t *b;
	size_t len;
	size_t cap;
	bool oom;
};

void aml_free(struct aml *a);
void aml_byte(struct aml *a, uint8_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_le(struct aml *a, uint64_t v, unsigned int n);

/* NameString: "\\_SB_.PCI0", "PCI0", "_S5"; segments are padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* Integer with the shortest encoding (Zero, One, Byte/Word/DWord/QWord). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* "PNP0A03" as the compressed EISA id DWord. */
void aml_eisaid(struct aml *a, const char *id);

/* Name (path, <value appended next by the caller>) */
void aml_name(struct aml *a, const char *path);

/* Wrappers taking a finished body: op [ext] PkgLength [name] body. */
void aml_scope(struct aml *a, const char *path, const struct aml *body);
void aml_device(struct aml *a, const char *path, const struct aml *body);
void aml_package(struct aml *a, unsigned int nelem, const struct aml *elems);
void aml_buffer(struct aml *a, const struct aml *bytes);
/* Method (path, nargs, NotSerialized) { body }; body may be empty. */
void aml_method(struct aml *a, const char *path, unsigned int nargs,
		const struct aml *body);
/* Return (<value appended next by the caller>) */
void aml_return(struct aml *a);

/* Resource descriptors, appended to a ResourceTemplate body. */
void aml_res_io(struct aml *r, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *r, unsigned int irq);
/* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) { irq }: a PCI link's. */
void aml_res_irq_pci(struct aml *r, uint32_t irq);
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max);
/* Appends the end tag and wraps everything as a Buffer. */
void aml_resource_template(struct aml *a, struct aml *r);

#endif
