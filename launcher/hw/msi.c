/* launcher/hw/msi.c: MSI and MSI-X capabilities: message composition, masking, pending bits, the MSI-X table and PBA. */
#include <stdlib.h>
#include <string.h>

#include "msi.h"

/* A message is a memory write: no bus mastering, no message. */
static void msi_send(const struct pci_func *f, const struct msi_target *t,
		     unsigned int vector, uint64_t addr, uint32_t data)
{
	if ((pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) && t->send)
		t->send(t->ctx, vector, addr, data);
}

/* While MSI or MSI-X is on, the function must not use INTx. */
static void msi_drop_intx(struct pci_func *f)
{
	if (f->intx_level)
		pci_func_set_intx(f, 0);
}

/* ---- MSI ---- */

static uint16_t pci_msi_flags(const struct pci_msi *m)
{
	return pci_cfg_get(m->f, m->cap + PCI_MSI_FLAGS, 2);
}

bool pci_msi_enabled(const struct pci_msi *m)
{
	return pci_msi_flags(m) & PCI_MSI_FLAGS_ENABLE;
}

unsigned int pci_msi_vectors(const struct pci_msi *m)
{
	unsigned int mme = (pci_msi_flags(m) & PCI_MSI_FLAGS_QSIZE) >> 4;
	unsigned int n = mme <= 5 ? 1u << mme : 32;

	return n < m->nvec ? n : m->nvec;
}

void pci_msi_message(const struct pci_msi *m, unsigned int n, uint64_t *addr,
		     uint32_t *data)
{
	unsigned int vecs = pci_msi_vectors(m);
	uint32_t d = pci_cfg_get(m->f, m->cap + PCI_MSI_DATA_64, 2);

	if (n >= vecs)
		n = vecs - 1;
	*addr = pci_cfg_get(m->f, m->cap + PCI_MSI_ADDRESS_LO, 4) |
		(uint64_t)pci_cfg_get(m->f, m->cap + PCI_MSI_ADDRESS_HI, 4) << 32;
	*data = (d & ~(vecs - 1)) | n;
}

static void pci_msi_send(struct pci_msi *m, unsigned int n)
{
	uint64_t addr;
	uint32_t data;

	pci_msi_message(m, n, &addr, &data);
	msi_send(m->f, &m->target, n, addr, data);
}

bool pci_msi_notify(struct pci_msi *m, unsigned int n)
{
	unsigned int vecs;

	if (!pci_msi_enabled(m))
		return false;
	vecs = pci_msi_vectors(m);
	if (n >= vecs)
		n = vecs - 1;
	if (m->maskable &&
	    pci_cfg_get(m->f, m->cap + PCI_MSI_MASK_64, 4) >> n & 1) {
		m->f->cfg[m->cap + PCI_MSI_PENDING_64 + n / 8] |= 1u << (n % 8);
		return true;
	}
	pci_msi_send(m, n);
	return true;
}

/* A guest write to the capability: enable, vector count, masks. */
static void pci_msi_written(void *ctx, struct pci_func *f)
{
	struct pci_msi *m = ctx;
	unsigned int vecs;
	uint32_t pending, mask;

	if (!pci_msi_enabled(m))
		return;
	msi_drop_intx(f);
	if (!m->maskable)
		return;
	vecs = pci_msi_vectors(m);
	/* vectors no longer enabled lose what they had pending */
	pending = pci_cfg_get(f, m->cap + PCI_MSI_PENDING_64, 4);
	pending &= vecs < 32 ? (1u << vecs) - 1 : ~0u;
	mask = pci_cfg_get(f, m->cap + PCI_MSI_MASK_64, 4);
	pci_cfg_set(f, m->cap + PCI_MSI_PENDING_64, 4, pending & mask);
	for (unsigned int n = 0; n < vecs; n++)
		if ((pending & ~mask) >> n & 1)
			pci_msi_send(m, n);
}

void pci_msi_reset(struct pci_msi *m)
{
	struct pci_func *f = m->f;
	uint16_t flags = pci_msi_flags(m);

	flags &= ~(PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_cfg_set(f, m->cap + PCI_MSI_FLAGS, 2, flags);
	pci_cfg_set(f, m->cap + PCI_MSI_ADDRESS_LO, 4, 0);
	pci_cfg_set(f, m->cap + PCI_MSI_ADDRESS_HI, 4, 0);
	pci_cfg_set(f, m->cap + PCI_MSI_DATA_64, 2, 0);
	if (m->maskable) {
		pci_cfg_set(f, m->cap + PCI_MSI_MASK_64, 4, 0);
		pci_cfg_set(f, m->cap + PCI_MSI_PENDING_64, 4, 0);
	}
}

int pci_msi_init(struct pci_msi *m, struct pci_func *f, unsigned int nvec,
		 bool maskable, const struct msi_target *target)
{
	unsigned int mmc = 0, cap;
	uint16_t flags;

	if (!nvec || nvec > 32 || (nvec & (nvec - 1)))
		return -1;
	while ((1u << mmc) < nvec)
		mmc++;
	cap = pci_cap_add(f, PCI_CAP_ID_MSI, maskable ? 0x18 : 0x0e);
	if (!cap)
		return -1;
	*m = (struct pci_msi){ .f = f, .target = *target, .cap = cap,
			       .nvec = nvec, .maskable = maskable };
	flags = PCI_MSI_FLAGS_64BIT | mmc << 1;
	if (maskable)
		flags |= PCI_MSI_FLAGS_MASKBIT;
	pci_cfg_set(f, cap + PCI_MSI_FLAGS, 2, flags);
	pci_func_set_wmask(f, cap + PCI_MSI_FLAGS, 2,
			   PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_func_set_wmask(f, cap + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc);
	pci_func_set_wmask(f, cap + PCI_MSI_ADDRESS_HI, 4, 0xffffffff);
	pci_func_set_wmask(f, cap + PCI_MSI_DATA_64, 2, 0xffff);
	if (maskable)
		pci_func_set_wmask(f, cap + PCI_MSI_MASK_64, 4,
				   nvec < 32 ? (1u << nvec) - 1 : ~0u);
	m->watch = (struct pci_cfg_watch){
		.off = cap + PCI_MSI_FLAGS, .len = (maskable ? 0x18 : 0x0e) - 2,
		.written = pci_msi_written, .ctx = m,
	};
	pci_func_watch_cfg(f, &m->watch);
	return 0;
}

/* ---- MSI-X ---- */

static uint16_t pci_msix_flags(const struct pci_msix *m)
{
	return pci_cfg_get(m->f, m->cap + PCI_MSIX_FLAGS, 2);
}

bool pci_msix_enabled(const struct pci_msix *m)
{
	return pci_msix_flags(m) & PCI_MSIX_FLAGS_ENABLE;
}

static unsigned int pci_msix_pba_bytes(unsigned int nvec)
{
	return (nvec + 63) / 64 * 8;
}

static bool pci_msix_masked(const struct pci_msix *m, unsigned int n)
{
	return (pci_msix_flags(m) & PCI_MSIX_FLAGS_MASKALL) ||
	       (m->table[4 * n + 3] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

void pci_msix_message(const struct pci_msix *m, unsigned int n,
		      uint64_t *addr, uint32_t *data)
{
	const uint32_t *e;

	if (n >= m->nvec) {
		*addr = 0;
		*data = 0;
		return;
	}
	e = &m->table[4 * n];
	*addr = e[0] | (uint64_t)e[1] << 32;
	*data = e[2];
}

static void pci_msix_send(struct pci_msix *m, unsigned int n)
{
	uint64_t addr;
	uint32_t data;

	pci_msix_message(m, n, &addr, &data);
	msi_send(m->f, &m->target, n, addr, data);
}

/* Send vector n if it is pending and nothing masks it any more. */
static void pci_msix_flush(struct pci_msix *m, unsigned int n)
{
	uint64_t bit = 1ull << (n % 64);

	if (!(m->pba[n / 64] & bit) || !pci_msix_enabled(m) ||
	    pci_msix_masked(m, n))
		return;
	m->pba[n / 64] &= ~bit;
	pci_msix_send(m, n);
}

bool pci_msix_notify(struct pci_msix *m, unsigned int n)
{
	if (!pci_msix_enabled(m))
		return false;
	if (n >= m->nvec)
		return true;
	if (pci_msix_masked(m, n)) {
		m->pba[n / 64] |= 1ull << (n % 64);
		return true;
	}
	pci_msix_send(m, n);
	return true;
}

static void pci_msix_written(void *ctx, struct pci_func *f)
{
	struct pci_msix *m = ctx;

	if (!pci_msix_enabled(m))
		return;
	msi_drop_intx(f);
	if (pci_msix_flags(m) & PCI_MSIX_FLAGS_MASKALL)
		return;
	for (unsigned int n = 0; n < m->nvec; n++)
		pci_msix_flush(m, n);
}

/* The table and PBA as the guest reaches them through the BAR. */
static uint64_t pci_msix_mmio_read(void *dev, uint64_t off, unsigned int size)
{
	struct pci_msix *m = dev;
	uint64_t t;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return 0;
	if (off >= m->table_off &&
	    off - m->table_off < (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE) {
		t = (off - m->table_off) / 4;
		if (size == 4)
			return m->table[t];
		return m->table[t] | (uint64_t)m->table[t + 1] << 32;
	}
	if (off >= m->pba_off && off - m->pba_off < pci_msix_pba_bytes(m->nvec)) {
		t = off - m->pba_off;
		if (size == 8)
			return m->pba[t / 8];
		return (uint32_t)(m->pba[t / 8] >> (8 * (t & 4)));
	}
	return 0;
}

static void pci_msix_table_write(struct pci_msix *m, uint64_t t, uint32_t val)
{
	unsigned int n = t / 4;
	bool was_masked;

	if (t % 4 != 3) {
		m->table[t] = val;
		return;
	}
	was_masked = m->table[t] & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	/* the other vector control bits are reserved */
	m->table[t] = val & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	if (was_masked && !(val & PCI_MSIX_ENTRY_CTRL_MASKBIT))
		pci_msix_flush(m, n);
}

static void pci_msix_mmio_write(void *dev, uint64_t off, unsigned int size,
				uint64_t val)
{
	struct pci_msix *m = dev;
	uint64_t t;

	if ((size != 4 && size != 8) || (off & (size - 1)))
		return;
	/* the PBA is read-only */
	if (off < m->table_off ||
	    off - m->table_off >= (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE)
		return;
	t = (off - m->table_off) / 4;
	pci_msix_table_write(m, t, val);
	if (size == 8)
		pci_msix_table_write(m, t + 1, val >> 32);
}

const struct io_ops pci_msix_mmio_ops = {
	.read = pci_msix_mmio_read,
	.write = pci_msix_mmio_write,
};

void pci_msix_reset(struct pci_msix *m)
{
	uint16_t flags = pci_msix_flags(m);

	flags &= ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_set(m->f, m->cap + PCI_MSIX_FLAGS, 2, flags);
	memset(m->table, 0, (size_t)m->nvec * PCI_MSIX_ENTRY_SIZE);
	for (unsigned int n = 0; n < m->nvec; n++)
		m->table[4 * n + 3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	memset(m->pba, 0, pci_msix_pba_bytes(m->nvec));
}

int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned int nvec,
		  unsigned int bar, uint32_t table_off, uint32_t pba_off,
		  const struct msi_target *target)
{
	uint64_t tbytes = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t pbytes = pci_msix_pba_bytes(nvec);
	unsigned int cap;

	memset(m, 0, sizeof(*m));
	if (!nvec || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    (table_off & 7) || (pba_off & 7) ||
	    (table_off < pba_off + pbytes && pba_off < table_off + tbytes))
		return -1;
	m->table = calloc(nvec, PCI_MSIX_ENTRY_SIZE);
	m->pba = calloc(1, pbytes);
	if (!m->table || !m->pba)
		goto fail;
	cap = pci_cap_add(f, PCI_CAP_ID_MSIX, 12);
	if (!cap)
		goto fail;
	m->f = f;
	m->target = *target;
	m->cap = cap;
	m->nvec = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pci_cfg_set(f, cap + PCI_MSIX_FLAGS, 2, nvec - 1);
	pci_cfg_set(f, cap + PCI_MSIX_TABLE, 4, table_off | bar);
	pci_cfg_set(f, cap + PCI_MSIX_PBA, 4, pba_off | bar);
	pci_func_set_wmask(f, cap + PCI_MSIX_FLAGS, 2,
			   PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	m->watch = (struct pci_cfg_watch){
		.off = cap + PCI_MSIX_FLAGS, .len = 2,
		.written = pci_msix_written, .ctx = m,
	};
	pci_func_watch_cfg(f, &m->watch);
	pci_msix_reset(m);
	return 0;
fail:
	free(m->table);
	free(m->pba);
	memset(m, 0, sizeof(*m));
	return -1;
}

int pci_msix_init_bar(struct pci_msix *m, struct pci_func *f,
		      unsigned int nvec, unsigned int bar,
		      const struct msi_target *target)
{
	uint32_t pba_off = nvec * PCI_MSIX_ENTRY_SIZE;
	uint32_t size = 4096;

	if (pci_msix_init(m, f, nvec, bar, 0, pba_off, target))
		return -1;
	while (size < pba_off + pci_msix_pba_bytes(nvec))
		size <<= 1;
	pci_func_set_mem_bar(f, bar, size, 0, &pci_msix_mmio_ops, m);
	return 0;
}

void pci_msix_destroy(struct pci_msix *m)
{
	free(m->table);
	free(m->pba);
	m->table = NULL;
	m->pba = NULL;
}
