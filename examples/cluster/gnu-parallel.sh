#!/bin/bash
# A pagewalk campaign on one machine with GNU parallel: one shard per core, then one merged report.
# Ctrl-C stops every shard; each prints and saves the summary of what it ran (marked interrupted).
N=$(nproc)
mkdir -p results
seq 0 $((N - 1)) | parallel -j "$N" --line-buffer \
  npx pagewalk fuzz --preset linux-4.13-xen-pv --seed 1 --time 600 --workers 1 --shard "{}/$N" --out "results/shard-{}" --plot "results/shard-{}"
npx pagewalk merge results/shard-*
