/* garp_floor: the floor of this machine for sending gratuitous ARPs.
 *
 * usage: garp_floor IFNAME MAC FIRST_IPV4 COUNT REPEAT
 *
 * Builds COUNT 42-byte GARP requests (Ethernet dst ff:ff:ff:ff:ff:ff, src MAC, type 0x0806;
 * ARP op 1, sender = (MAC, ip), target = (ff:ff:ff:ff:ff:ff, ip)) for the consecutive
 * addresses FIRST_IPV4, FIRST_IPV4 + 1, ... -- byte-identical to garpd's and keepalived's --
 * then sends them REPEAT times round-robin (a1 a2 ... an a1 a2 ...) with one sendto() per
 * frame on one AF_PACKET socket, retrying a frame the device refuses (ENOBUFS / EAGAIN).
 * Prints one JSON line: frames sent, retries, and CLOCK_MONOTONIC seconds right before the
 * first and right after the last sendto().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_LEN 42

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s IFNAME MAC FIRST_IPV4 COUNT REPEAT\n", argv[0]);
        return 2;
    }
    const char *ifname = argv[1];
    unsigned char mac[6];
    if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
               &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "bad MAC %s\n", argv[2]);
        return 2;
    }
    struct in_addr first;
    if (inet_pton(AF_INET, argv[3], &first) != 1) {
        fprintf(stderr, "bad IPv4 address %s\n", argv[3]);
        return 2;
    }
    long count = strtol(argv[4], NULL, 10);
    long repeat = strtol(argv[5], NULL, 10);
    if (count <= 0 || repeat <= 0) {
        fprintf(stderr, "COUNT and REPEAT must be positive\n");
        return 2;
    }
    unsigned ifindex = if_nametoindex(ifname);
    if (ifindex == 0) {
        perror("if_nametoindex");
        return 1;
    }
    unsigned char *frames = calloc((size_t)count, FRAME_LEN);
    if (frames == NULL) {
        perror("calloc");
        return 1;
    }
    uint32_t base = ntohl(first.s_addr);
    for (long i = 0; i < count; i++) {
        unsigned char *f = frames + i * FRAME_LEN;
        uint32_t ip = htonl(base + (uint32_t)i);
        memset(f, 0xff, 6);                      /* Ethernet dst: broadcast */
        memcpy(f + 6, mac, 6);                   /* Ethernet src */
        f[12] = 0x08; f[13] = 0x06;              /* ethertype ARP */
        f[14] = 0x00; f[15] = 0x01;              /* htype Ethernet */
        f[16] = 0x08; f[17] = 0x00;              /* ptype IPv4 */
        f[18] = 6; f[19] = 4;                    /* hlen, plen */
        f[20] = 0x00; f[21] = 0x01;              /* op request */
        memcpy(f + 22, mac, 6);                  /* sender hw */
        memcpy(f + 28, &ip, 4);                  /* sender IP */
        memset(f + 32, 0xff, 6);                 /* target hw: broadcast */
        memcpy(f + 38, &ip, 4);                  /* target IP */
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = (int)ifindex;
    sll.sll_halen = 6;
    memset(sll.sll_addr, 0xff, 6);
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
        perror("bind");
        return 1;
    }
    long sent = 0, retries = 0;
    double t0 = now();
    for (long r = 0; r < repeat; r++) {
        for (long i = 0; i < count; i++) {
            while (sendto(fd, frames + i * FRAME_LEN, FRAME_LEN, 0, (struct sockaddr *)&sll,
                          sizeof sll) < 0) {
                if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
                    perror("sendto");
                    return 1;
                }
                retries++;
            }
            sent++;
        }
    }
    double t1 = now();
    printf("{\"sent\": %ld, \"retries\": %ld, \"t0\": %.9f, \"t1\": %.9f}\n", sent, retries, t0,
           t1);
    close(fd);
    free(frames);
    return 0;
}
