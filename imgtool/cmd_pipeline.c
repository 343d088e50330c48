/* imgtool/cmd_pipeline.c: worker threads read and compress chunks, and whichever finishes the next chunk in order writes it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "pipeline.h"

#define PIPE_INFLIGHT	(4u << 20)	/* input bytes held in slots, at least */

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_DONE };

struct slot {
	enum slot_state state;
	uint64_t idx;
	uint8_t *buf;
	uint8_t *cbuf;
	size_t len;		/* valid input bytes */
	bool zero;		/* nothing to write */
	/* Compressing or o->sort: per output cluster */
	uint8_t *what;		/* enum pipe_what */
	size_t *clen;		/* compressed length at cbuf + i * g; 0: stored as is */
	int err;
};

struct pipe {
	struct pipe_opts *o;
	struct slot *slots;
	unsigned nslots;
	pthread_mutex_t lock;
	pthread_cond_t work_cv;		/* workers: a slot came free, or stop */
	pthread_mutex_t read_lock;	/* serial_read: one reader at a time, in order */
	uint64_t next_claim;
	uint64_t next_write;
	uint64_t end_idx;		/* first chunk past the input, once known */
	size_t g;			/* output cluster size */
	bool stop;
	bool writing;			/* a worker is in drain() */
	bool failed;
	double last_pct;		/* progress shown */
};

struct worker {
	struct pipe *p;
	int id;
	struct img_deflate *d;
	struct img_zstd *z;		/* instead of d for a zstd output */
};

static size_t compress_cluster(struct worker *w, const uint8_t *in, size_t g, uint8_t *out)
{
	return w->z ? img_zstd_cluster(w->z, in, g, out, g) : img_deflate_cluster(w->d, in, g, out, g);
}

/*
 * Bytes of the output that a chunk covers: its input, and at the end of the
 * input up to the output's size (whole sectors), which reads as zeros.
 */
static size_t slot_span(struct pipe *p, struct slot *s)
{
	uint64_t off = s->idx * p->o->chunk, vsize;
	size_t span;

	if (p->o->size == UINT64_MAX)
		return s->len;	/* a stream: the output grows as it comes */
	vsize = img_get_size(p->o->out);
	span = vsize > off && vsize - off < p->o->chunk ? (size_t)(vsize - off) : p->o->chunk;

	return span > s->len ? span : s->len;
}

/*
 * Cluster by cluster: which to write (with o->sort, the caller's word on
 * which differ from the backing file; else the ones that are not zeros),
 * and each of those compressed when asked. A chunk holding nothing to write
 * needs no write at all.
 */
static int sort_slot(struct pipe *p, struct worker *w, struct slot *s, bool known_zero)
{
	struct pipe_opts *o = p->o;
	size_t g = p->g, span = slot_span(p, s), nc = (span + g - 1) / g;
	int ret;

	if (!known_zero)
		memset(s->buf + s->len, 0, o->chunk - s->len);
	if (o->sort) {
		ret = o->sort(o->ctx, w->id, s->idx, known_zero ? NULL : s->buf, span, g, s->what);
		if (ret)
			return ret;
	} else {
		for (size_t i = 0; i < nc; i++)
			s->what[i] = known_zero || cli_is_zero(s->buf + i * g, span - i * g < g ? span - i * g : g) ?
				     PIPE_SKIP : PIPE_DATA;
	}
	s->zero = true;
	for (size_t i = 0; i < nc; i++) {
		s->zero &= s->what[i] == PIPE_SKIP;
		/* the last cluster whole, zeros past the input */
		s->clen[i] = o->compress && s->what[i] == PIPE_DATA ?
			     compress_cluster(w, s->buf + i * g, g, s->cbuf + i * g) : 0;
	}
	return 0;
}

static int write_slot(struct pipe *p, struct slot *s);
/*
 * Write the chunks that are done, in order, from next_write on. Called with
 * p->lock held by the worker that finished a chunk; only one drains at a
 * time, and a chunk finished meanwhile is picked up by the drain running.
 * So no thread waits on a dedicated writer: on a machine where every CPU is
 * busy, a writer thread woken for each chunk waited milliseconds for a CPU
 * each time while the workers, out of slots, slept.
 */
static void drain(struct pipe *p)
{
	struct pipe_opts *o = p->o;

	p->writing = true;
	while (!p->stop && p->next_write < p->end_idx) {
		struct slot *s = &p->slots[p->next_write % p->nslots];
		int ret;

		if (s->state != SLOT_DONE || s->idx != p->next_write)
			break;
		pthread_mutex_unlock(&p->lock);
		if (s->err) {
			cli_error("error while reading at byte %llu: %s",
				  (unsigned long long)(s->idx * o->chunk), strerror(-s->err));
			ret = -1;
		} else if ((ret = write_slot(p, s)) != 0) {
			cli_error("error while writing at byte %llu: %s",
				  (unsigned long long)(s->idx * o->chunk), strerror(-ret));
		}
		if (!ret)
			o->total += s->len;
		if (!ret && o->progress && o->size != UINT64_MAX && o->size) {
			double pct = 100.0 * (double)o->total / (double)o->size;

			if (pct - p->last_pct >= 1.0 || o->total == o->size) {
				cli_progress(pct, 1);
				p->last_pct = pct;
			}
		}
		pthread_mutex_lock(&p->lock);
		if (ret) {
			p->failed = true;
			p->stop = true;
			pthread_cond_broadcast(&p->work_cv);
			break;
		}
		s->state = SLOT_FREE;
		p->next_write++;
		pthread_cond_signal(&p->work_cv);	/* one slot, one more claim */
	}
	p->writing = false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pipe *p = w->p;
	struct pipe_opts *o = p->o;

	for (;;) {
		struct slot *s;
		uint64_t idx;
		ssize_t n;
		bool known_zero;

		if (o->serial_read)
			pthread_mutex_lock(&p->read_lock);
		pthread_mutex_lock(&p->lock);
		while (!p->stop && p->next_claim < p->end_idx &&
		       p->next_claim >= p->next_write + p->nslots)
			pthread_cond_wait(&p->work_cv, &p->lock);
		if (p->stop || p->next_claim >= p->end_idx) {
			pthread_mutex_unlock(&p->lock);
			if (o->serial_read)
				pthread_mutex_unlock(&p->read_lock);
			return NULL;
		}
		idx = p->next_claim++;
		s = &p->slots[idx % p->nslots];
		s->state = SLOT_BUSY;
		s->idx = idx;
		pthread_mutex_unlock(&p->lock);

		{
			uint64_t off = idx * o->chunk;
			size_t want = o->size != UINT64_MAX && o->size - off < o->chunk ?
				      (size_t)(o->size - off) : o->chunk;

			known_zero = false;
			n = o->read(o->ctx, w->id, idx, s->buf, want, &known_zero);
			if (n >= 0 && (size_t)n < want && o->size != UINT64_MAX)
				n = -EIO;	/* a file of known size ended early */
		}
		if (o->serial_read) {
			if (n >= 0 && (size_t)n < o->chunk) {
				pthread_mutex_lock(&p->lock);
				p->end_idx = n ? idx + 1 : idx;	/* the stream ends here */
				pthread_cond_broadcast(&p->work_cv);
				pthread_mutex_unlock(&p->lock);
			}
			pthread_mutex_unlock(&p->read_lock);
		}
		s->err = n < 0 ? (int)n : 0;
		s->len = n < 0 ? 0 : (size_t)n;
		s->zero = false;
		if (!s->err && (o->sort || o->compress)) {
			s->err = sort_slot(p, w, s, known_zero);
		} else if (!s->err && known_zero) {
			s->zero = true;
		} else if (!s->err) {
			memset(s->buf + s->len, 0, o->chunk - s->len);
			s->zero = cli_is_zero(s->buf, o->chunk);
		}
		pthread_mutex_lock(&p->lock);
		s->state = SLOT_DONE;
		if (!p->writing)
			drain(p);
		pthread_mutex_unlock(&p->lock);
	}
}

/*
 * Write only the non-zero runs of g-byte blocks: raw output keeps holes at
 * 4 KiB grain, qcow2 output leaves zero clusters unallocated.
 */
static int write_sparse(struct img *out, const uint8_t *buf, size_t len, uint64_t off, size_t g)
{

	for (size_t i = 0; i < len;) {
		size_t j, n = len - i < g ? len - i : g;

		if (cli_is_zero(buf + i, n)) {
			i += n;
			continue;
		}
		for (j = i + n; j < len; j += n) {
			n = len - j < g ? len - j : g;
			if (cli_is_zero(buf + j, n))
				break;
		}
		if (j > len)
			j = len;
		int ret = img_pwrite(out, buf + i, j - i, off + i);

		if (ret)
			return ret;
		i = j;
	}
	return 0;
}

/* Runs of clusters with the same fate, as sort_slot found them; compressed ones one by one. */
static int write_sorted(struct pipe *p, struct slot *s, uint64_t off)
{
	struct pipe_opts *o = p->o;
	size_t g = p->g, span = slot_span(p, s), nc = (span + g - 1) / g;

	/* A partial cluster would be filled from a backing file: write to the end of the disk. */
	for (size_t i = 0, j; i < nc; i = j) {
		size_t a = i * g, b;
		int ret = 0;

		for (j = i + 1; j < nc && s->what[j] == s->what[i] && !s->clen[i] && !s->clen[j]; j++)
			;
		b = j * g < span ? j * g : span;
		if (s->what[i] == PIPE_DATA && s->clen[i])
			ret = img_write_compressed(o->out, off + a, s->cbuf + a, s->clen[i]);
		else if (s->what[i] == PIPE_DATA)
			ret = img_pwrite(o->out, s->buf + a, b - a, off + a);
		else if (s->what[i] == PIPE_ZERO)	/* a zero cluster, over the backing */
			ret = img_discard(o->out, off + a, b - a);
		if (ret)
			return ret;
	}
	return 0;
}

static int write_slot(struct pipe *p, struct slot *s)
{
	struct pipe_opts *o = p->o;
	uint64_t off = s->idx * o->chunk, vsize = img_get_size(o->out);
	size_t len = s->len;
	char err[256];

	if (o->size == UINT64_MAX && off + len > vsize) {
		/* Stream of unknown length: grow the output ahead of the data. */
		uint64_t ns = vsize * 2 > off + len ? vsize * 2 : off + len;

		if (ns < (64u << 20))
			ns = 64u << 20;
		if (img_resize(o->out, ns, false, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return -EIO;
		}
	}
	if (s->zero || !len)
		return 0;
	if (o->sort || o->compress)
		return write_sorted(p, s, off);
	if (img_get_format(o->out) == IMG_FMT_RAW)
		return write_sparse(o->out, s->buf, len, off, 4096);
	return write_sparse(o->out, s->buf, len, off, img_get_cluster_size(o->out));
}

int pipe_run(struct pipe_opts *o)
{
	struct pipe p = { .o = o, .last_pct = -1 };
	struct worker *ws;
	pthread_t *tids;
	int nt = o->threads < 1 ? 1 : o->threads, ret = 0, started = 0;
	struct img_info info;
	bool zstd;

	/* At least 4 MiB in flight: a worker descheduled mid-chunk holds up the writes behind it. */
	p.nslots = (unsigned)nt * 4;
	if (p.nslots < PIPE_INFLIGHT / o->chunk)
		p.nslots = (unsigned)(PIPE_INFLIGHT / o->chunk);
	p.end_idx = o->size == UINT64_MAX ? UINT64_MAX : (o->size + o->chunk - 1) / o->chunk;
	p.slots = calloc(p.nslots, sizeof(*p.slots));
	o->total = 0;
	/* Compressed clusters must be in the output's own compression type. */
	img_get_info(o->out, &info);
	zstd = info.compression == IMG_COMPRESSION_ZSTD;
	p.g = info.cluster_size ? info.cluster_size : 512;
	ws = calloc((size_t)nt, sizeof(*ws));
	tids = calloc((size_t)nt, sizeof(*tids));
	if (!p.slots || !ws || !tids) {
		cli_error("out of memory");
		ret = -1;
		goto out_free;
	}
	for (unsigned i = 0; i < p.nslots; i++) {
		p.slots[i].buf = malloc(o->chunk);
		p.slots[i].cbuf = malloc(o->chunk);
		p.slots[i].what = malloc(o->chunk / p.g + 1);
		p.slots[i].clen = calloc(o->chunk / p.g + 1, sizeof(size_t));
		if (!p.slots[i].buf || !p.slots[i].cbuf || !p.slots[i].what || !p.slots[i].clen) {
			cli_error("out of memory");
			ret = -1;
			goto out_free;
		}
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_init(&p.read_lock, NULL);
	pthread_cond_init(&p.work_cv, NULL);
	for (int i = 0; i < nt; i++) {
		ws[i].p = &p;
		ws[i].id = i;
		if (o->compress && zstd)
			ws[i].z = img_zstd_new();
		else if (o->compress)
			ws[i].d = img_deflate_new();
		if (o->compress && !ws[i].z && !ws[i].d) {
			cli_error("could not set up %s", zstd ? "zstd" : "zlib");
			ret = -1;
			break;
		}
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i])) {
			cli_error("could not start a thread");
			ret = -1;
			break;
		}
		started++;
	}
	if (ret) {
		pthread_mutex_lock(&p.lock);
		p.stop = true;
		pthread_cond_broadcast(&p.work_cv);
		pthread_mutex_unlock(&p.lock);
	}
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (!ret && (p.failed || p.next_write < p.end_idx))
		ret = -1;
	if (o->progress)
		printf("\n");
	pthread_cond_destroy(&p.work_cv);
	pthread_mutex_destroy(&p.lock);
	pthread_mutex_destroy(&p.read_lock);
out_free:
	for (int i = 0; ws && i < nt; i++) {
		img_deflate_free(ws[i].d);
		img_zstd_free(ws[i].z);
	}
	for (unsigned i = 0; p.slots && i < p.nslots; i++) {
		free(p.slots[i].buf);
		free(p.slots[i].cbuf);
		free(p.slots[i].what);
		free(p.slots[i].clen);
	}
	free(p.slots);
	free(ws);
	free(tids);
	return ret;
}

/*
 * Block status is asked for a long range once and remembered: on ext4,
 * SEEK_DATA/SEEK_HOLE took milliseconds a call on a disk image in the page
 * cache, and asking per chunk made the workers spend more time in lseek
 * than compressing.
 */
#define EXTENT_ASK	(1ull << 30)

void pipe_extents_init(struct pipe_extents *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void pipe_extents_destroy(struct pipe_extents *c)
{
	pthread_mutex_destroy(&c->lock);
}

int pipe_extent(struct pipe_extents *c, struct img *img, uint64_t off, uint64_t len, unsigned *flags)
{
	uint64_t size = img_get_size(img);
	struct img_extent e;
	bool hit;

	pthread_mutex_lock(&c->lock);
	hit = c->len && off >= c->off && off - c->off < c->len && len <= c->len - (off - c->off);
	*flags = c->flags;
	pthread_mutex_unlock(&c->lock);
	if (hit)
		return 0;
	if (off >= size || img_block_status(img, off, size - off < EXTENT_ASK ? size - off : EXTENT_ASK, &e) < 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	c->off = off;
	c->len = e.len;
	c->flags = e.flags;
	pthread_mutex_unlock(&c->lock);
	*flags = e.flags;
	return e.len >= len ? 0 : -1;
}
