/* imgtool/cmd_pipeline.c: worker threads read and compress chunks; the caller's thread writes them in order. */
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
	size_t clen;		/* compressed length, 0 if stored as is */
	bool zero;		/* nothing to write */
	uint8_t *what;		/* with o->sort: enum pipe_what per output cluster */
	int err;
};

struct pipe {
	struct pipe_opts *o;
	struct slot *slots;
	unsigned nslots;
	pthread_mutex_t lock;
	pthread_cond_t work_cv;		/* workers: a slot came free, or stop */
	pthread_cond_t done_cv;		/* writer: chunk next_write is done, or the end moved */
	pthread_mutex_t read_lock;	/* serial_read: one reader at a time, in order */
	uint64_t next_claim;
	uint64_t next_write;
	uint64_t end_idx;		/* first chunk past the input, once known */
	size_t g;			/* output cluster size, for o->sort */
	bool stop;
};

struct worker {
	struct pipe *p;
	int id;
	struct img_deflate *d;
	struct img_zstd *z;		/* instead of d for a zstd output */
};

static size_t compress_slot(struct pipe *p, struct worker *w, struct slot *s)
{
	size_t chunk = p->o->chunk;

	return w->z ? img_zstd_cluster(w->z, s->buf, chunk, s->cbuf, chunk)
		    : img_deflate_cluster(w->d, s->buf, chunk, s->cbuf, chunk);
}

/*
 * Bytes of the output that a chunk covers: its input, and at the end of the
 * input up to the output's size (whole sectors), which reads as zeros.
 */
static size_t slot_span(struct pipe *p, struct slot *s)
{
	uint64_t off = s->idx * p->o->chunk, vsize = img_get_size(p->o->out);
	size_t span = vsize > off && vsize - off < p->o->chunk ? (size_t)(vsize - off) : p->o->chunk;

	return span > s->len ? span : s->len;
}

/*
 * Output with a backing file: the caller's sort says which clusters differ
 * from it; a chunk where none does needs no write at all. When compressing,
 * a chunk is one cluster.
 */
static int sort_slot(struct pipe *p, struct worker *w, struct slot *s, bool known_zero)
{
	struct pipe_opts *o = p->o;
	size_t span = slot_span(p, s), nc = (span + p->g - 1) / p->g;
	int ret;

	if (!known_zero)
		memset(s->buf + s->len, 0, o->chunk - s->len);
	ret = o->sort(o->ctx, w->id, s->idx, known_zero ? NULL : s->buf, span, p->g, s->what);
	if (ret)
		return ret;
	s->zero = true;
	for (size_t i = 0; i < nc; i++)
		s->zero &= s->what[i] == PIPE_SKIP;
	if (o->compress && s->what[0] == PIPE_DATA)
		s->clen = compress_slot(p, w, s);
	return 0;
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
				pthread_cond_broadcast(&p->done_cv);
				pthread_cond_broadcast(&p->work_cv);
				pthread_mutex_unlock(&p->lock);
			}
			pthread_mutex_unlock(&p->read_lock);
		}
		s->err = n < 0 ? (int)n : 0;
		s->len = n < 0 ? 0 : (size_t)n;
		s->clen = 0;
		s->zero = false;
		if (!s->err && o->sort) {
			s->err = sort_slot(p, w, s, known_zero);
		} else if (!s->err && known_zero) {
			s->zero = true;
		} else if (!s->err) {
			memset(s->buf + s->len, 0, o->chunk - s->len);
			s->zero = cli_is_zero(s->buf, o->chunk);
			if (!s->zero && o->compress)
				s->clen = compress_slot(p, w, s);
		}
		pthread_mutex_lock(&p->lock);
		s->state = SLOT_DONE;
		/* Only the chunk the writer waits for wakes it; the others queue. */
		if (idx == p->next_write)
			pthread_cond_signal(&p->done_cv);
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

/* Runs of clusters with the same fate, as sort_slot found them. */
static int write_sorted(struct pipe *p, struct slot *s, uint64_t off)
{
	struct pipe_opts *o = p->o;
	size_t span = slot_span(p, s), nc = (span + p->g - 1) / p->g;

	/* A partial cluster would be filled from the backing: write to the end of the disk. */
	for (size_t i = 0, j; i < nc; i = j) {
		size_t a = i * p->g, b;
		int ret = 0;

		for (j = i + 1; j < nc && s->what[j] == s->what[i]; j++)
			;
		b = j * p->g < span ? j * p->g : span;
		if (s->what[i] == PIPE_DATA && s->clen)
			ret = img_write_compressed(o->out, off, s->cbuf, s->clen);
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
	if (o->sort)
		return write_sorted(p, s, off);
	if (s->clen)
		return img_write_compressed(o->out, off, s->cbuf, s->clen);
	if (img_get_format(o->out) == IMG_FMT_RAW)
		return write_sparse(o->out, s->buf, len, off, 4096);
	return write_sparse(o->out, s->buf, len, off, img_get_cluster_size(o->out));
}

int pipe_run(struct pipe_opts *o)
{
	struct pipe p = { .o = o };
	struct worker *ws;
	pthread_t *tids;
	int nt = o->threads < 1 ? 1 : o->threads, ret = 0, started = 0;
	double last_pct = -1;
	struct img_info info;
	bool zstd;

	/*
	 * At least 4 MiB in flight: on a busy machine the writer thread can
	 * wait tens of milliseconds for a CPU, and the workers should not
	 * run out of slots meanwhile.
	 */
	p.nslots = (unsigned)nt * 4;
	if (p.nslots < PIPE_INFLIGHT / o->chunk)
		p.nslots = (unsigned)(PIPE_INFLIGHT / o->chunk);
	p.end_idx = o->size == UINT64_MAX ? UINT64_MAX : (o->size + o->chunk - 1) / o->chunk;
	p.slots = calloc(p.nslots, sizeof(*p.slots));
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
		if (o->sort)
			p.slots[i].what = malloc(o->chunk / p.g + 1);
		if (!p.slots[i].buf || !p.slots[i].cbuf || (o->sort && !p.slots[i].what)) {
			cli_error("out of memory");
			ret = -1;
			goto out_free;
		}
	}
	pthread_mutex_init(&p.lock, NULL);
	pthread_mutex_init(&p.read_lock, NULL);
	pthread_cond_init(&p.work_cv, NULL);
	pthread_cond_init(&p.done_cv, NULL);
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
	o->total = 0;
	while (!ret) {
		struct slot *s;

		pthread_mutex_lock(&p.lock);
		while (p.next_write < p.end_idx &&
		       !(p.slots[p.next_write % p.nslots].state == SLOT_DONE &&
			 p.slots[p.next_write % p.nslots].idx == p.next_write))
			pthread_cond_wait(&p.done_cv, &p.lock);
		if (p.next_write >= p.end_idx) {
			pthread_mutex_unlock(&p.lock);
			break;
		}
		s = &p.slots[p.next_write % p.nslots];
		pthread_mutex_unlock(&p.lock);

		if (s->err) {
			cli_error("error while reading at byte %llu: %s",
				  (unsigned long long)(s->idx * o->chunk), strerror(-s->err));
			ret = -1;
			break;
		}
		ret = write_slot(&p, s);
		if (ret) {
			cli_error("error while writing at byte %llu: %s",
				  (unsigned long long)(s->idx * o->chunk), strerror(-ret));
			ret = -1;
			break;
		}
		o->total += s->len;
		pthread_mutex_lock(&p.lock);
		s->state = SLOT_FREE;
		p.next_write++;
		pthread_cond_signal(&p.work_cv);	/* one slot, one more claim */
		pthread_mutex_unlock(&p.lock);
		if (o->progress && o->size != UINT64_MAX && o->size) {
			double pct = 100.0 * (double)o->total / (double)o->size;

			if (pct - last_pct >= 1.0 || o->total == o->size) {
				cli_progress(pct, 1);
				last_pct = pct;
			}
		}
	}
	pthread_mutex_lock(&p.lock);
	p.stop = true;
	pthread_cond_broadcast(&p.work_cv);
	pthread_mutex_unlock(&p.lock);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (o->progress)
		printf("\n");
	pthread_cond_destroy(&p.work_cv);
	pthread_cond_destroy(&p.done_cv);
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
	}
	free(p.slots);
	free(ws);
	free(tids);
	return ret;
}
