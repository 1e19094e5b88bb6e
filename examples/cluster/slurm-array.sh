#!/bin/bash
# A pagewalk campaign as a Slurm job array: 8 tasks, one shard each (SLURM_ARRAY_TASK_ID 0..7),
# one core per task. Submit with `sbatch slurm-array.sh`; when the array is done:
#   npx pagewalk merge results/shard-*
# At the time limit Slurm sends SIGTERM: each shard writes the summary of what it ran (marked
# interrupted) before KillWait runs out.
#SBATCH --job-name=pagewalk-fuzz
#SBATCH --array=0-7
#SBATCH --cpus-per-task=1
#SBATCH --time=01:05:00
#SBATCH --output=results/slurm-%a.log
N=8
mkdir -p results
exec npx pagewalk fuzz --preset linux-4.13-xen-pv --seed 1 --time 3600 --workers 1 --shard "$SLURM_ARRAY_TASK_ID/$N" --out "results/shard-$SLURM_ARRAY_TASK_ID" --plot "results/shard-$SLURM_ARRAY_TASK_ID"
