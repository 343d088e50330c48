/* imgtool/pipeline.h: ordered parallel copy (read, zero-detect, compress, write) used by convert and import. */
#ifndef IMGTOOL_PIPELINE_H
#define IMGTOOL_PIPELINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "img.h"

/*
 * Fills buf with chunk idx (len bytes wanted) for worker w. Returns the
 * number of bytes produced (less than len only at the end of the input) or
 * a negative errno; may set *zero when the chunk is known to read as zeros
 * (buf is then left untouched). With serial_read, calls come in chunk order, one at a
 * time (a stream); otherwise concurrently and in any order.
 */
typedef ssize_t (*pipe_read_fn)(void *ctx, int w, uint64_t idx, void *buf, size_t len, bool *zero);

/*
 * For an output with a backing file: what to do with each output cluster
 * (g bytes; the last one of the input may be shorter) of a chunk just read.
 */
enum pipe_what {
	PIPE_SKIP,	/* leave unallocated: the backing file holds the same */
	PIPE_DATA,	/* write it */
	PIPE_ZERO,	/* zeros over a backing that has data there: a zero cluster */
};
/*
 * Fills what[] for chunk idx: len bytes of the output from the chunk's start,
 * in buf, zeros past the input's end; buf is NULL when the read knew the
 * chunk to read as zeros (and then no cluster may be PIPE_DATA). Called by
 * worker w right after its read. 0 or a negative errno.
 */
typedef int (*pipe_sort_fn)(void *ctx, int w, uint64_t idx, const void *buf, size_t len,
			    size_t g, uint8_t *what);

struct pipe_opts {
	struct img *out;
	uint64_t size;		/* input length; UINT64_MAX when unknown (stream) */
	size_t chunk;		/* bytes per chunk, whole output clusters */
	bool compress;
	bool serial_read;
	int threads;
	bool progress;
	pipe_read_fn read;
	pipe_sort_fn sort;	/* optional: only what differs from a backing file is written */
	void *ctx;
	uint64_t total;		/* out: bytes of input consumed */
};

/* 0 on success; on failure prints the reason and returns -1. */
int pipe_run(struct pipe_opts *o);

/* The last block status extent of a source, shared by the workers reading it. */
struct pipe_extents {
	pthread_mutex_t lock;
	uint64_t off, len;
	unsigned flags;		/* IMG_EXT_* */
};
void pipe_extents_init(struct pipe_extents *c);
void pipe_extents_destroy(struct pipe_extents *c);
/* 0 and the flags when [off, off + len) of img is one extent; -1 when it is not, or unknown. */
int pipe_extent(struct pipe_extents *c, struct img *img, uint64_t off, uint64_t len, unsigned *flags);

#endif
