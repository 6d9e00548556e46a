/*
 * cpgrate RATE SIZE: join CPG group "quoratework" and multicast SIZE-byte
 * agreed messages at RATE per second until the daemon goes away (then exit
 * 0), draining deliveries meanwhile. The multicast workload of a simulator
 * scenario (workload: {kind: multicast, rate, size}) on a real Corosync
 * node, for exp_restart_burst.sh's CPG_RATE.
 * Build: gcc -O2 -o cpgrate cpgrate.c -lcpg
 */
#include <corosync/cpg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t node, uint32_t pid, void *msg, size_t len) {}
static void confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *m, size_t mn,
                    const struct cpg_address *l, size_t ln, const struct cpg_address *j, size_t jn) {}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: cpgrate RATE SIZE\n"); return 2; }
  double rate = atof(argv[1]); size_t size = (size_t)atoi(argv[2]);
  if (rate <= 0 || size == 0 || size > 1 << 20) { fprintf(stderr, "cpgrate: bad rate or size\n"); return 2; }
  cpg_handle_t h; cpg_callbacks_t cb = { deliver, confchg };
  cs_error_t e;
  /* The daemon may still be starting: retry for 10 s. */
  for (int i = 0; (e = cpg_initialize(&h, &cb)) != CS_OK; i++) {
    if (i > 100) { fprintf(stderr, "cpg_initialize: %d\n", e); return 1; }
    usleep(100000);
  }
  struct cpg_name g; strcpy(g.value, "quoratework"); g.length = strlen(g.value);
  while ((e = cpg_join(h, &g)) == CS_ERR_TRY_AGAIN) usleep(10000);
  if (e != CS_OK) { fprintf(stderr, "cpg_join: %d\n", e); return 1; }
  int fd; cpg_fd_get(h, &fd);
  char *buf = calloc(1, size);
  struct iovec iov = { buf, size };
  double next = now_s();
  for (;;) {
    double wait = next - now_s();
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, wait > 0 ? (int)(wait * 1000) : 0) > 0) {
      if (p.revents & (POLLHUP | POLLERR)) return 0;
      if (cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK) return 0;
    }
    if (now_s() < next) continue;
    next += 1.0 / rate;
    e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
    if (e != CS_OK && e != CS_ERR_TRY_AGAIN) return 0; /* the daemon went away */
  }
}
