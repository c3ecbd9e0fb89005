#!/bin/bash
# The paper's 1d table as a Slurm job array: each array task trains one deterministic slice of
# the 21 cells (lipspline reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT), every cell a run folder in a shared folder. Re-submitting the same
# array skips finished cells and resumes interrupted ones.
#
#   sbatch examples/cluster/slurm_reproduce_1d.sh            # 7 tasks, 3 cells each
#   sbatch --dependency=afterany:<JOBID> --wrap \
#     "deno run -A cli/main.ts reproduce merge $OUT"         # the table, when all are done
#
# Run it from a clone of lipspline on a file system every node sees (OUT too). One CPU per task
# is what a cell uses (the wasm backend is single-threaded).
#SBATCH --job-name=lipspline-1d
#SBATCH --array=0-6
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%A_%a.out
# Ctrl-C equivalent before the time limit: a cell saves a checkpoint and stops; resubmit.
#SBATCH --signal=INT@120

set -euo pipefail
OUT=${OUT:-$PWD/1d_exps/reproduce}
# The npm packages, fetched once into the shared clone (deno's cache beside it).
export DENO_DIR=${DENO_DIR:-$PWD/.deno_dir}
DENO=${DENO:-deno}

# No --shard: the slice comes from the array variables. Extra keys: --set key=value.
srun "$DENO" run -A cli/main.ts reproduce 1d --out "$OUT" "$@"
