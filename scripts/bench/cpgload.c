/*
 * cpgload - agreed-order throughput and latency of Corosync's CPG, the
 * counterpart of `quorate load --measure` in side-by-side.sh.
 *
 *   cpgload -n MEMBERS -a START -w WARMUP -d SECONDS -z SIZE [-s]
 *
 * Joins the CPG group "quorate-bench" and waits until MEMBERS processes
 * are in it. From the wall-clock instant START (Unix seconds) a sender (-s)
 * multicasts SIZE-byte messages with CPG_TYPE_AGREED as fast as the library
 * takes them (on CS_ERR_TRY_AGAIN it dispatches and tries again), for
 * WARMUP + SECONDS + 1 s. The window [START+WARMUP, START+WARMUP+SECONDS]
 * is measured: the messages delivered here from every sender, and for this
 * process's own messages delivered in the window the time from the
 * multicast call to their delivery back here. It prints one line:
 *
 *   window_s=.. delivered=.. msgs_per_s=.. own=.. lat_p50_us=.. lat_p99_us=..
 *
 * Build: cc -O2 -o cpgload cpgload.c -lcpg
 */
#include <corosync/cpg.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define TAG 0x71623031u /* "qb01" */

struct stamp {
	uint32_t tag;
	uint32_t origin; /* getpid() of the sender */
	uint64_t seq;
	int64_t sent_ns; /* CLOCK_MONOTONIC of the multicast call */
};

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t self;
static size_t group_size;
static int64_t win_from, win_to; /* monotonic bounds of the window; 0 before it is known */
static uint64_t delivered;
static uint32_t *lat; /* own latencies in the window, microseconds */
static size_t nlat, caplat;

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t len)
{
	struct stamp s;
	int64_t t = mono();
	(void)h, (void)g, (void)nodeid, (void)pid;
	if (len < sizeof s)
		return;
	memcpy(&s, msg, sizeof s);
	if (s.tag != TAG || win_from == 0 || t < win_from || t > win_to)
		return;
	delivered++;
	if (s.origin == self && nlat < caplat)
		lat[nlat++] = (uint32_t)((t - s.sent_ns) / 1000);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *members,
		       size_t nmembers, const struct cpg_address *left, size_t nleft,
		       const struct cpg_address *joined, size_t njoined)
{
	(void)h, (void)g, (void)members, (void)left, (void)nleft, (void)joined, (void)njoined;
	group_size = nmembers;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static void pump(cpg_handle_t h, int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, wait_ms) > 0)
		cpg_dispatch(h, CS_DISPATCH_ALL);
}

int main(int argc, char **argv)
{
	size_t want = 0, size = 64;
	double start = 0, warm = 2, dur = 5;
	int send = 0, c;
	while ((c = getopt(argc, argv, "n:a:w:d:z:s")) != -1) {
		switch (c) {
		case 'n': want = strtoul(optarg, NULL, 10); break;
		case 'a': start = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'z': size = strtoul(optarg, NULL, 10); break;
		case 's': send = 1; break;
		default:
			fprintf(stderr, "usage: cpgload -n MEMBERS -a START -w WARMUP -d SECONDS -z SIZE [-s]\n");
			return 2;
		}
	}
	if (want == 0 || start == 0 || size < sizeof(struct stamp) || dur <= 0) {
		fprintf(stderr, "cpgload: give -n, -a and -z of at least %zu bytes\n", sizeof(struct stamp));
		return 2;
	}
	self = (uint32_t)getpid();
	caplat = 1 << 23;
	lat = malloc(caplat * sizeof *lat);
	char *buf = calloc(1, size);
	if (!lat || !buf)
		return 1;

	cpg_callbacks_t cb = {.cpg_deliver_fn = on_deliver, .cpg_confchg_fn = on_confchg};
	cpg_handle_t h;
	if (cpg_initialize(&h, &cb) != CS_OK) {
		fprintf(stderr, "cpgload: cpg_initialize failed (is corosync running here?)\n");
		return 1;
	}
	struct cpg_name g;
	strcpy(g.value, "quorate-bench");
	g.length = strlen(g.value);
	cs_error_t rc;
	while ((rc = cpg_join(h, &g)) == CS_ERR_TRY_AGAIN)
		usleep(10000);
	if (rc != CS_OK) {
		fprintf(stderr, "cpgload: cpg_join: error %d\n", rc);
		return 1;
	}
	int fd;
	cpg_fd_get(h, &fd);
	while (group_size < want && wall() < start + 30)
		pump(h, fd, 10);
	if (group_size < want) {
		fprintf(stderr, "cpgload: only %zu of %zu members joined\n", group_size, want);
		return 1;
	}
	while (wall() < start)
		pump(h, fd, 1);
	int64_t t0 = mono();
	win_from = t0 + (int64_t)(warm * 1e9);
	win_to = win_from + (int64_t)(dur * 1e9);
	int64_t send_end = win_to + 1000000000;

	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct stamp s = {.tag = TAG, .origin = self};
	while (mono() < send_end) {
		if (!send) {
			pump(h, fd, 10);
			continue;
		}
		s.sent_ns = mono();
		memcpy(buf, &s, sizeof s);
		rc = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
		if (rc == CS_OK) {
			s.seq++;
			if ((s.seq & 31) == 0)
				pump(h, fd, 0);
		} else if (rc == CS_ERR_TRY_AGAIN) {
			pump(h, fd, 1);
		} else {
			fprintf(stderr, "cpgload: cpg_mcast_joined: error %d\n", rc);
			return 1;
		}
	}
	/* Deliveries of the window still on their way. */
	int64_t drain = mono() + 1000000000;
	while (mono() < drain)
		pump(h, fd, 10);

	qsort(lat, nlat, sizeof *lat, cmp_u32);
	printf("window_s=%.3f delivered=%llu msgs_per_s=%.0f own=%zu", dur, (unsigned long long)delivered,
	       delivered / dur, nlat);
	if (nlat)
		printf(" lat_p50_us=%u lat_p99_us=%u\n", lat[nlat / 2], lat[(size_t)(nlat * 0.99)]);
	else
		printf(" lat_p50_us=- lat_p99_us=-\n");
	cpg_leave(h, &g);
	cpg_finalize(h);
	return 0;
}
