/* launcher/hw/acpi_aml.c: AML encoding: names, integers, package lengths, methods, resource descriptors. */
#include "acpi_aml.h"

#include <stdlib.h>
#include <string.h>

void aml_free(struct aml *a)
{
	free(a->b);
	memset(a, 0, sizeof(*a));
}

static bool aml_reserve(struct aml *a, size_t n)
{
	if (a->oom)
		return false;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 64;
		uint8_t *b;

		while (cap < a->len + n)
			cap *= 2;
		b = realloc(a->b, cap);
		if (!b) {
			a->oom = true;
			return false;
		}
		a->b = b;
		a->cap = cap;
	}
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n || !aml_reserve(a, n))
		return;
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_name_seg(struct aml *a, const char *seg, size_t n)
{
	char s[4] = { '_', '_', '_', '_' };

	memcpy(s, seg, n > 4 ? 4 : n);
	aml_bytes(a, s, 4);
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *p = path;
	size_t nseg = 0;

	if (*p == '\\') {
		aml_byte(a, '\\');
		p++;
	}
	for (const char *q = p; *q; q++)
		if (*q == '.')
			nseg++;
	nseg++;
	if (nseg == 2)
		aml_byte(a, 0x2e);	/* DualNamePrefix */
	else if (nseg > 2) {
		aml_byte(a, 0x2f);	/* MultiNamePrefix */
		aml_byte(a, (uint8_t)nseg);
	}
	while (*p) {
		size_t n = strcspn(p, ".");

		aml_name_seg(a, p, n);
		p += n;
		if (*p == '.')
			p++;
	}
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, 0x00);	/* ZeroOp */
	} else if (v == 1) {
		aml_byte(a, 0x01);	/* OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, 0x0c);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, 0x0e);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, 0x0d);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters in 5 bits each, then four hex digits, stored big endian. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	v |= (uint32_t)((id[0] - '@') & 0x1f) << 26;
	v |= (uint32_t)((id[1] - '@') & 0x1f) << 21;
	v |= (uint32_t)((id[2] - '@') & 0x1f) << 16;
	v |= (uint32_t)strtoul(id + 3, NULL, 16) & 0xffff;
	aml_byte(a, 0x0c);
	aml_byte(a, v >> 24);
	aml_byte(a, v >> 16);
	aml_byte(a, v >> 8);
	aml_byte(a, v);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, 0x08);	/* NameOp */
	aml_name_string(a, path);
}

/* PkgLength counts its own bytes plus the body's. */
static void aml_pkglen(struct aml *a, size_t body)
{
	size_t total;

	if (body + 1 <= 0x3f) {
		aml_byte(a, (uint8_t)(body + 1));
		return;
	}
	for (unsigned int n = 2; n <= 4; n++) {
		total = body + n;
		if (total < (1ul << (4 + 8 * (n - 1)))) {
			aml_byte(a, (uint8_t)((n - 1) << 6 | (total & 0x0f)));
			for (unsigned int i = 1; i < n; i++)
				aml_byte(a, (uint8_t)(total >> (4 + 8 * (i - 1))));
			return;
		}
	}
	a->oom = true;	/* larger than AML can express */
}

static void aml_wrap_named(struct aml *a, const char *path,
			   const struct aml *body)
{
	struct aml name = { 0 };

	aml_name_string(&name, path);
	aml_pkglen(a, name.len + body->len);
	aml_bytes(a, name.b, name.len);
	aml_bytes(a, body->b, body->len);
	if (name.oom || body->oom)
		a->oom = true;
	aml_free(&name);
}

void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
	aml_byte(a, 0x10);	/* ScopeOp */
	aml_wrap_named(a, path, body);
}

void aml_device(struct aml *a, const char *path, const struct aml *body)
{
	aml_byte(a, 0x5b);	/* ExtOpPrefix */
	aml_byte(a, 0x82);	/* DeviceOp */
	aml_wrap_named(a, path, body);
}

void aml_package(struct aml *a, unsigned int nelem, const struct aml *elems)
{
	aml_byte(a, 0x12);	/* PackageOp */
	aml_pkglen(a, 1 + elems->len);
	aml_byte(a, (uint8_t)nelem);
	aml_bytes(a, elems->b, elems->len);
	if (elems->oom)
		a->oom = true;
}

void aml_buffer(struct aml *a, const struct aml *bytes)
{
	struct aml size = { 0 };

	aml_integer(&size, bytes->len);
	aml_byte(a, 0x11);	/* BufferOp */
	aml_pkglen(a, size.len + bytes->len);
	aml_bytes(a, size.b, size.len);
	aml_bytes(a, bytes->b, bytes->len);
	if (size.oom || bytes->oom)
		a->oom = true;
	aml_free(&size);
}

void aml_method(struct aml *a, const char *path, unsigned int nargs,
		const struct aml *body)
{
	struct aml flagged = { 0 };

	/* MethodFlags: ArgCount in bits 0-2, not serialized, SyncLevel 0. */
	aml_byte(&flagged, (uint8_t)(nargs & 7));
	aml_bytes(&flagged, body->b, body->len);
	if (body->oom)
		flagged.oom = true;
	aml_byte(a, 0x14);	/* MethodOp */
	aml_wrap_named(a, path, &flagged);
	aml_free(&flagged);
}

void aml_return(struct aml *a)
{
	aml_byte(a, 0xa4);	/* ReturnOp */
}

void aml_res_io(struct aml *r, uint16_t base, uint8_t len)
{
	aml_byte(r, 0x47);	/* I/O port descriptor, 7 bytes */
	aml_byte(r, 0x01);	/* 16-bit decode */
	aml_le(r, base, 2);
	aml_le(r, base, 2);
	aml_byte(r, 0x01);	/* alignment */
	aml_byte(r, len);
}

void aml_res_irq(struct aml *r, unsigned int irq)
{
	aml_byte(r, 0x22);	/* IRQ descriptor, 2 bytes: edge, active high */
	aml_le(r, 1u << irq, 2);
}

/* The small IRQ descriptor stops at 15 and cannot say "level, active high". */
void aml_res_irq_pci(struct aml *r, uint32_t irq)
{
	aml_byte(r, 0x89);	/* Extended Interrupt descriptor */
	aml_le(r, 6, 2);	/* flags, count, one DWord; no ResourceSource */
	aml_byte(r, 0x09);	/* consumer, level, active high, shared */
	aml_byte(r, 1);
	aml_le(r, irq, 4);
}

/* Address space descriptors: producer, fixed min and max, positive decode. */
static void aml_res_word(struct aml *r, uint8_t type, uint8_t tflags,
			 uint16_t min, uint16_t max)
{
	aml_byte(r, 0x88);	/* Word Address Space descriptor */
	aml_le(r, 13, 2);
	aml_byte(r, type);
	aml_byte(r, 0x0c);
	aml_byte(r, tflags);
	aml_le(r, 0, 2);	/* granularity */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_le(r, 0, 2);	/* translation */
	aml_le(r, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
	aml_res_word(r, 2, 0x00, min, max);
}

void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
	aml_res_word(r, 1, 0x03, min, max);	/* ISA and non-ISA ranges */
}

void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max)
{
	aml_byte(r, 0x87);	/* DWord Address Space descriptor */
	aml_le(r, 23, 2);
	aml_byte(r, 0);		/* memory */
	aml_byte(r, 0x0c);
	aml_byte(r, 0x03);	/* cacheable, read-write */
	aml_le(r, 0, 4);
	aml_le(r, min, 4);
	aml_le(r, max, 4);
	aml_le(r, 0, 4);
	aml_le(r, (uint64_t)max - min + 1, 4);
}

void aml_resource_template(struct aml *a, struct aml *r)
{
	aml_byte(r, 0x79);	/* end tag; checksum 0 means "not checked" */
	aml_byte(r, 0x00);
	aml_buffer(a, r);
}
