/*
 * blkbench: a block device benchmark for the guest kit (no fio there)
 *
 *   blkbench randread DEV SECONDS THREADS   4 KiB O_DIRECT random reads
 *   blkbench seqread DEV SECONDS            1 MiB O_DIRECT sequential reads
 *
 * Each thread keeps one request in flight, so THREADS is the queue depth.
 * Prints "iops N mbps M" on one line. Built static on the host.
 *
 * Copyright (c) 2026 The qemu-vmbus authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <time.h>
#include <unistd.h>

static const char *dev;
static uint64_t dev_size;
static size_t block;
static int random_io;
static double seconds;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    uint64_t nblocks = dev_size / block, pos = 0, *done;
    int fd = open(dev, O_RDONLY | O_DIRECT);
    void *buf;
    double end;

    if (fd < 0 || posix_memalign(&buf, 4096, block)) {
        perror(dev);
        exit(1);
    }
    done = calloc(1, sizeof(*done));
    end = now() + seconds;
    while (now() < end) {
        if (random_io) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            pos = (seed >> 17) % nblocks;
        } else {
            pos = (pos + 1) % nblocks;
        }
        if (pread(fd, buf, block, pos * block) != (ssize_t)block) {
            perror("pread");
            exit(1);
        }
        (*done)++;
    }
    close(fd);
    return done;
}

int main(int argc, char **argv)
{
    int threads = 1, fd;
    pthread_t tid[64];
    uint64_t total = 0;
    double start, elapsed;

    if (argc < 4 ||
        (strcmp(argv[1], "randread") && strcmp(argv[1], "seqread"))) {
        fprintf(stderr,
                "usage: blkbench randread|seqread DEV SECONDS [THREADS]\n");
        return 2;
    }
    random_io = !strcmp(argv[1], "randread");
    block = random_io ? 4096 : 1 << 20;
    dev = argv[2];
    seconds = atof(argv[3]);
    if (argc > 4) {
        threads = atoi(argv[4]);
    }
    if (threads < 1 || threads > 64) {
        return 2;
    }
    fd = open(dev, O_RDONLY);
    if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_size)) {
        perror(dev);
        return 1;
    }
    close(fd);
    start = now();
    for (long i = 0; i < threads; i++) {
        pthread_create(&tid[i], NULL, worker, (void *)i);
    }
    for (int i = 0; i < threads; i++) {
        void *r;

        pthread_join(tid[i], &r);
        total += *(uint64_t *)r;
        free(r);
    }
    elapsed = now() - start;
    printf("iops %.0f mbps %.1f\n", total / elapsed,
           total * (double)block / elapsed / (1 << 20));
    return 0;
}
