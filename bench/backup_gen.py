#!/usr/bin/env python3
"""bench/backup_gen.py - the data of bench/backup.sh's volume.

  backup_gen.py disk OUT MIB SEED
      a raw image of MIB MiB, in regions of 256 KiB to 16 MiB (64 KiB
      units), each at random (SEED): half of them bytes of the files under
      /usr (text, locales, manuals and ELF binaries), a quarter random
      bytes (what compressed or encrypted files look like), a quarter zeros
      left as holes (space never written); prints the bytes of each kind.
      The /usr bytes come from a sample of MIB/8 MiB (at least 32) of a
      tar stream of /usr/share, /usr/lib and /usr/bin, kept as OUT.usr,
      each region from a random byte offset in it (so no two 4 MiB chunks
      are equal: the disk has nothing for dedup to find).
  backup_gen.py block OUT SEED SAMPLE
      4 MiB of new data for one changed block: 3 MiB of SAMPLE (an OUT.usr)
      from a byte offset the seed picks and 1 MiB of random bytes.
"""
import os
import random
import subprocess
import sys

MIB = 1 << 20
UNIT = 64 << 10


class UsrStream:
    """Bytes of the files under /usr, as tar streams them (restarted at its end)."""

    def __init__(self):
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen(
            ["tar", "cf", "-", "--ignore-failed-read", "/usr/share", "/usr/lib", "/usr/bin"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, n):
        out = bytearray()
        while len(out) < n:
            if self.proc is None:
                self._start()
            got = self.proc.stdout.read(n - len(out))
            if not got:
                self.close()
                continue
            out += got
        return bytes(out)

    def close(self):
        if self.proc:
            self.proc.stdout.close()
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def disk(out, mib, seed):
    rnd = random.Random(seed)
    size = mib * MIB
    usr = UsrStream()
    sample = usr.read(max(32, mib // 8) * MIB)
    usr.close()
    with open(out + ".usr", "wb") as f:
        f.write(sample)
    kinds = {"usr": 0, "random": 0, "zero": 0}
    with open(out, "wb") as f:
        f.truncate(size)
        off = 0
        while off < size:
            n = min(rnd.randint(4, 256) * UNIT, size - off)
            r = rnd.random()
            kind = "usr" if r < 0.5 else "random" if r < 0.75 else "zero"
            if kind != "zero":
                f.seek(off)
                if kind == "usr":
                    at = rnd.randrange(len(sample) - n) if n < len(sample) else 0
                    f.write(sample[at:at + n])
                else:
                    f.write(os.urandom(n))
            kinds[kind] += n
            off += n
    print(" ".join(f"{k}={v}" for k, v in kinds.items()))


def block(out, seed, sample):
    rnd = random.Random(seed)
    with open(sample, "rb") as f:
        f.seek(rnd.randrange(os.fstat(f.fileno()).st_size - 3 * MIB))
        data = f.read(3 * MIB) + os.urandom(MIB)
    with open(out, "wb") as f:
        f.write(data)


def main(argv):
    if len(argv) == 5 and argv[1] == "disk":
        disk(argv[2], int(argv[3]), int(argv[4]))
    elif len(argv) == 5 and argv[1] == "block":
        block(argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
