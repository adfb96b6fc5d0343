/*
 * The least a gpsd-protocol server must do per GPS cycle, for the
 * `--gpsd-only` bench (scripts/floor/run.sh): wake from epoll_wait on the
 * pty, read the cycle, send one canned ~3.5 KB TPV report to each watcher.
 * No parsing, no JSON. Its CPU per TPV is this machine's floor for the
 * "CPU per TPV, dronetel [gpsd] / gpsd" row; see README, Performance.
 *
 *   floor_gpsd DEVICE PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define MAX_CLIENTS 16

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: floor_gpsd DEVICE PORT\n");
        return 2;
    }
    int pty = open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (pty < 0) {
        perror(argv[1]);
        return 1;
    }
    struct termios t;
    if (tcgetattr(pty, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(pty, TCSANOW, &t);
    }
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[2]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 16) != 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN};
    e.data.fd = pty;
    epoll_ctl(ep, EPOLL_CTL_ADD, pty, &e);
    e.data.fd = ls;
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);

    static char buf[4096], report[3500];
    const char *tpv = "{\"class\":\"TPV\",\"device\":\"floor\",\"mode\":3,"
                      "\"time\":\"2026-12-01T00:00:00.000Z\",\"lat\":47.0,\"lon\":8.0}";
    memset(report, ' ', sizeof report);
    memcpy(report, tpv, strlen(tpv));
    report[sizeof report - 1] = '\n';
    const char *version = "{\"class\":\"VERSION\",\"release\":\"floor\",\"rev\":\"floor\","
                          "\"proto_major\":3,\"proto_minor\":14}\r\n";
    const char *watching = "{\"class\":\"DEVICES\",\"devices\":[]}\r\n"
                           "{\"class\":\"WATCH\",\"enable\":true,\"json\":true}\r\n";
    int clients[MAX_CLIENTS], watcher[MAX_CLIENTS], n = 0;

    for (;;) {
        struct epoll_event ev[8];
        int k = epoll_wait(ep, ev, 8, -1);
        for (int i = 0; i < k; i++) {
            int fd = ev[i].data.fd;
            if (fd == ls) {
                int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0)
                    continue;
                if (n == MAX_CLIENTS) {
                    close(c);
                    continue;
                }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                (void)!write(c, version, strlen(version));
                clients[n] = c;
                watcher[n++] = 0;
                e.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
            } else if (fd == pty) {
                if (read(pty, buf, sizeof buf) > 0)
                    for (int j = 0; j < n; j++)
                        if (watcher[j])
                            send(clients[j], report, sizeof report, MSG_NOSIGNAL);
            } else {
                for (int j = 0; j < n; j++) {
                    if (clients[j] != fd)
                        continue;
                    if (read(fd, buf, sizeof buf) <= 0) {
                        close(fd);
                        clients[j] = clients[--n];
                        watcher[j] = watcher[n];
                    } else {
                        watcher[j] = 1; /* any command: treat as ?WATCH */
                        (void)!write(fd, watching, strlen(watching));
                    }
                    break;
                }
            }
        }
    }
}
