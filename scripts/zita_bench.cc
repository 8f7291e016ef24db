// zita-convolver as a peer for scripts/bench_engine.sh (built there against the Debian
// packages libzita-convolver-dev and libfftw3-dev; no binary is kept in the repository).
//
//   zita_bench ir OUT.wav SECONDS          write a mono decaying-noise IR (32-bit float WAV,
//                                          48 kHz, 60 dB decay over its length, seeded)
//   zita_bench run IR.wav CALL SECONDS     time zita's Convproc on SECONDS of stereo noise
//
// `run` configures Convproc as a real-time user would: 2 inputs and 2 outputs, the mono IR
// on input 0 -> output 0 and linked to input 1 -> output 1, quantum = CALL, minpart = CALL
// (zita's smallest is 64: a smaller call gets minpart 64), maxpart 8192, FFTW_MEASURE and
// VECTOR_MODE, then calls process(true) (synchronous: every level's output is complete when
// it is due) once per CALL frames. Its worker threads run at SCHED_OTHER; pin the whole
// process (taskset -c 0) to measure it on one core. It prints one line:
//   zita call=CALL minpart=M seconds=S cpu_s=C wall_s=W rtf_cpu=R rtf_wall=R2 late=L check=X
// where cpu_s is the CPU time of the whole process (all its threads) over the timed calls
// and late counts the calls process() flagged (none are expected: process(true) waits).
#include <zita-convolver.h>

#include <sched.h>
#include <time.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

static const uint32_t RATE = 48000;

// splitmix64 -> uniform in [-1, 1)
struct Rng {
    uint64_t s;
    double next() {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        return (double)(z >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
    }
};

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

static int write_ir(const char *path, double seconds) {
    size_t n = (size_t)llround(seconds * RATE);
    std::vector<float> h(n);
    Rng r{1000};
    double peak = 0;
    for (size_t i = 0; i < n; i++) {
        double v = r.next() * std::exp(-std::log(1000.0) * (double)i / (double)n);
        h[i] = (float)v;
        peak = std::fmax(peak, std::fabs(v));
    }
    for (auto &v : h) v = (float)(v * 0.5 / peak);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: cannot write\n", path);
        return 1;
    }
    uint32_t bytes = (uint32_t)(n * 4);
    fwrite("RIFF", 1, 4, f);
    put32(f, 4 + 8 + 16 + 8 + bytes);
    fwrite("WAVEfmt ", 1, 8, f);
    put32(f, 16);
    put16(f, 3);  // IEEE float
    put16(f, 1);
    put32(f, RATE);
    put32(f, RATE * 4);
    put16(f, 4);
    put16(f, 32);
    fwrite("data", 1, 4, f);
    put32(f, bytes);
    fwrite(h.data(), 4, n, f);
    return fclose(f) == 0 ? 0 : 1;
}

// A mono 32-bit float WAV as written by `ir` (or any mono float WAV).
static bool read_ir(const char *path, std::vector<float> &h) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char id[4];
    uint32_t len;
    if (fread(id, 1, 4, f) != 4 || memcmp(id, "RIFF", 4)) return false;
    if (fread(&len, 4, 1, f) != 1 || fread(id, 1, 4, f) != 4 || memcmp(id, "WAVE", 4)) return false;
    uint16_t fmt = 0, ch = 0, bits = 0;
    while (fread(id, 1, 4, f) == 4 && fread(&len, 4, 1, f) == 1) {
        if (!memcmp(id, "fmt ", 4)) {
            std::vector<uint8_t> b(len);
            if (fread(b.data(), 1, len, f) != len) return false;
            memcpy(&fmt, &b[0], 2);
            memcpy(&ch, &b[2], 2);
            memcpy(&bits, &b[14], 2);
        } else if (!memcmp(id, "data", 4)) {
            if (fmt != 3 || ch != 1 || bits != 32) return false;
            h.resize(len / 4);
            return fread(h.data(), 4, h.size(), f) == h.size();
        } else {
            fseek(f, len + (len & 1), SEEK_CUR);
        }
    }
    return false;
}

static double now(clockid_t c) {
    timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run(const char *ir_path, uint32_t call, double seconds) {
    std::vector<float> h;
    if (!read_ir(ir_path, h)) {
        fprintf(stderr, "%s: not a mono 32-bit float WAV\n", ir_path);
        return 1;
    }
    uint32_t minpart = call < Convproc::MINPART ? (uint32_t)Convproc::MINPART : call;
    Convproc conv;
    conv.set_options(Convproc::OPT_FFTW_MEASURE | Convproc::OPT_VECTOR_MODE);
    if (conv.configure(2, 2, (uint32_t)h.size(), call, minpart, Convproc::MAXPART, 0.0f)) {
        fprintf(stderr, "zita: configure(call %u, minpart %u) failed\n", call, minpart);
        return 1;
    }
    if (conv.impdata_create(0, 0, 1, h.data(), 0, (int32_t)h.size()) ||
        conv.impdata_link(0, 0, 1, 1)) {
        fprintf(stderr, "zita: loading the IR failed\n");
        return 1;
    }
    if (conv.start_process(0, SCHED_OTHER)) {
        fprintf(stderr, "zita: start_process failed\n");
        return 1;
    }
    // 10 s of stereo noise, reused cyclically (as `faltung bench` does).
    size_t noise_len = (size_t)RATE * 10 / call * call;
    std::vector<float> in[2];
    Rng r{1};
    for (auto &c : in) {
        c.resize(noise_len);
        for (auto &v : c) v = (float)(0.5 * r.next());
    }
    size_t total = (size_t)(seconds * RATE) / call;
    size_t warmup = RATE / 4 / call + 1;
    double sink = 0, cpu0 = 0, wall0 = 0;
    size_t pos = 0, late = 0;
    for (size_t i = 0; i < warmup + total; i++) {
        if (i == warmup) {
            cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
            wall0 = now(CLOCK_MONOTONIC);
        }
        for (int c = 0; c < 2; c++) memcpy(conv.inpdata(c), &in[c][pos], call * sizeof(float));
        if (conv.process(true)) late++;
        sink += conv.outdata(0)[call - 1] + conv.outdata(1)[0];
        pos += call;
        if (pos >= noise_len) pos = 0;
    }
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    double wall = now(CLOCK_MONOTONIC) - wall0;
    double audio = (double)(total * call) / RATE;
    printf("zita call=%u minpart=%u seconds=%.1f cpu_s=%.4f wall_s=%.4f rtf_cpu=%.2f rtf_wall=%.2f late=%zu check=%g\n",
           call, minpart, audio, cpu, wall, audio / cpu, audio / wall, late, sink);
    conv.stop_process();
    conv.cleanup();
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "ir")) return write_ir(argv[2], atof(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "run")) {
        int call = atoi(argv[3]);
        double s = atof(argv[4]);
        if (call < 16 || call > 8192 || (call & (call - 1)) || !(s > 0)) {
            fprintf(stderr, "run: CALL must be a power of two in 16..8192, SECONDS positive\n");
            return 2;
        }
        return run(argv[2], (uint32_t)call, s);
    }
    fprintf(stderr, "usage: zita_bench ir OUT.wav SECONDS | zita_bench run IR.wav CALL SECONDS\n");
    return 2;
}
