// The lower bound of any proxy on this machine: a TCP forwarder whose bytes never reach user space.
// Each accepted connection gets an upstream connection (round robin over the ports given); after the
// first request has passed through user space, both sockets join a BPF sockhash, and a BPF sk_skb
// verdict program redirects every later segment from one socket straight to the other's send path in
// the kernel. Used only by kernel-bound.sh, to measure how close to "direct" a proxy can get on two
// cores when its user-space cost per request is zero. It is a measuring tool, not a balancer: no health
// checks, no half-close, no timeouts, and the first-request hand-off assumes a client that waits for
// an answer before sending more (HTTP/1.1 as wrk speaks it).
// Usage: sockmap-forward LISTEN_PORT UPSTREAM_PORT...   (all on 127.0.0.1; needs root for bpf())
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf_call(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static int sockhash_put(int map, unsigned long long key, int fd)
{
    unsigned int value = (unsigned int)fd;
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = map;
    attr.key = (unsigned long)&key;
    attr.value = (unsigned long)&value;
    attr.flags = BPF_ANY;
    return (int)bpf_call(BPF_MAP_UPDATE_ELEM, &attr);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_PORT...\n", argv[0]);
        return 2;
    }
    int upstreams = argc - 2;

    // Key: a socket's cookie. Value: the socket its bytes go to (the session's other side).
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_SOCKHASH;
    attr.key_size = 8;
    attr.value_size = 4;
    attr.max_entries = 65536;
    int map = (int)bpf_call(BPF_MAP_CREATE, &attr);
    if (map < 0) {
        perror("bpf map create");
        return 1;
    }

    // r6 = ctx; r0 = get_socket_cookie(ctx); *(u64 *)(fp - 8) = r0;
    // return sk_redirect_hash(ctx, map, fp - 8, 0)   (0: to the other socket's egress)
    struct bpf_insn prog[] = {
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),
        INSN(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -8, 0),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0),
        INSN(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, map),
        INSN(0, 0, 0, 0, 0),
        INSN(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10, 0, 0),
        INSN(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -8),
        INSN(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
        INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_sk_redirect_hash),
        INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
    static char log[65536];
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_SK_SKB;
    attr.insns = (unsigned long)prog;
    attr.insn_cnt = sizeof prog / sizeof prog[0];
    attr.license = (unsigned long)"GPL";
    attr.log_buf = (unsigned long)log;
    attr.log_size = sizeof log;
    attr.log_level = 1;
    int verdict = (int)bpf_call(BPF_PROG_LOAD, &attr);
    if (verdict < 0) {
        perror("bpf prog load");
        fprintf(stderr, "%s\n", log);
        return 1;
    }
    memset(&attr, 0, sizeof attr);
    attr.target_fd = map;
    attr.attach_bpf_fd = verdict;
    attr.attach_type = BPF_SK_SKB_STREAM_VERDICT;
    if (bpf_call(BPF_PROG_ATTACH, &attr) < 0) {
        perror("bpf prog attach");
        return 1;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&at, sizeof at) != 0 || listen(listener, 4096) != 0) {
        perror("listen");
        return 1;
    }
    fprintf(stderr, "listening on 127.0.0.1:%s\n", argv[1]);

    static char first[65536];
    for (unsigned long n = 0;; n++) {
        int client = accept(listener, NULL, NULL);
        if (client < 0)
            continue;
        int upstream = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2 + n % upstreams]))};
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(upstream, (struct sockaddr *)&to, sizeof to) != 0) {
            perror("connect");
            close(client);
            close(upstream);
            continue;
        }
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // Bytes already queued on a socket when it joins the map are not seen by the verdict program,
        // so the first request goes through here; the client then waits for its answer.
        ssize_t got = recv(client, first, sizeof first, 0);
        if (got <= 0 || send(upstream, first, (size_t)got, MSG_NOSIGNAL) != got) {
            close(client);
            close(upstream);
            continue;
        }
        unsigned long long client_cookie, upstream_cookie;
        socklen_t size = sizeof client_cookie;
        getsockopt(client, SOL_SOCKET, SO_COOKIE, &client_cookie, &size);
        size = sizeof upstream_cookie;
        getsockopt(upstream, SOL_SOCKET, SO_COOKIE, &upstream_cookie, &size);
        if (sockhash_put(map, client_cookie, upstream) != 0 || sockhash_put(map, upstream_cookie, client) != 0) {
            // A side already closed (a client that left before its first answer).
            close(client);
            close(upstream);
        }
        // The descriptors stay open for the life of the process: a measuring run, not a service.
    }
}
