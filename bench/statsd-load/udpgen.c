/*
 * udpgen: a paced DogStatsD load generator for bench/statsd_udp.py.
 *
 * Sends one metric line per UDP datagram to 127.0.0.1:PORT at a fixed rate for a fixed time:
 *   bench.m<k>:1|c|#env:prod,host_group:g<k%10>     k = 0 .. contexts-1, round robin
 * with sendmmsg(2) in batches, paced every millisecond against CLOCK_MONOTONIC (it sends what the
 * schedule says is due, so a late wake-up is caught up at once). Prints one JSON line:
 *   {"sent": N, "errors": E, "seconds": S, "rate": R, "behind_max": B}
 * sent counts datagrams the kernel accepted; behind_max is the largest backlog (datagrams due but
 * not yet sent) seen at a tick: when it stays small the generator kept its schedule.
 *
 *   cc -O2 -o udpgen udpgen.c
 *   udpgen PORT RATE SECONDS [CONTEXTS] [HOST]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT RATE SECONDS [CONTEXTS] [HOST]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[2]);
    double seconds = atof(argv[3]);
    int contexts = argc > 4 ? atoi(argv[4]) : 1000;
    const char *host = argc > 5 ? argv[5] : "127.0.0.1";
    if (port <= 0 || rate <= 0 || seconds <= 0 || contexts <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    char **lines = calloc(contexts, sizeof(char *));
    size_t *lens = calloc(contexts, sizeof(size_t));
    for (int k = 0; k < contexts; k++) {
        char buf[128];
        int n = snprintf(buf, sizeof buf, "bench.m%d:1|c|#env:prod,host_group:g%d", k, k % 10);
        lines[k] = strdup(buf);
        lens[k] = (size_t)n;
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "bad host %s\n", host);
        return 2;
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        perror("connect");
        return 1;
    }

    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    long long total = (long long)(rate * seconds);
    long long sent = 0, errors = 0, behind_max = 0;
    long long k = 0;
    double start = now_s();
    double deadline = start + seconds + 5.0; /* never runs far past its time, whatever happens */
    struct timespec tick = {0, 1000000};     /* 1 ms */

    while (sent + errors < total) {
        double t = now_s();
        if (t > deadline)
            break;
        long long due = (long long)((t - start) * rate);
        if (due > total)
            due = total;
        long long backlog = due - (sent + errors);
        if (backlog > behind_max)
            behind_max = backlog;
        while (sent + errors < due) {
            long long want = due - (sent + errors);
            int n = want < BATCH ? (int)want : BATCH;
            for (int i = 0; i < n; i++) {
                int c = (int)((k + i) % contexts);
                iovs[i].iov_base = lines[c];
                iovs[i].iov_len = lens[c];
                memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
                msgs[i].msg_hdr.msg_iov = &iovs[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int r = sendmmsg(fd, msgs, n, 0);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                errors += 1; /* ECONNREFUSED (nothing listening), ENOBUFS, ...: count the first and move on */
                k += 1;
                continue;
            }
            sent += r;
            k += r;
        }
        clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, NULL);
    }
    double took = now_s() - start;
    printf("{\"sent\": %lld, \"errors\": %lld, \"seconds\": %.3f, \"rate\": %.0f, \"behind_max\": %lld}\n",
           sent, errors, took, sent / (took > 0 ? took : 1), behind_max);
    close(fd);
    return 0;
}
