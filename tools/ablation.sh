#!/bin/bash
# the three ablation variants in parallel, one thread each; models land in runs/ablation/<mode>
cd /work/main
for mode in latent image uniform; do
  ( start=$(date +%s)
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python -c "
from dsr_nb.ablation import run_ablation
r = run_ablation(modes=('$mode',), out='runs/ablation', device='cpu', progress=False)
print(r)" > runs/ablation_$mode.log 2>&1
    echo "$mode wall=$(( $(date +%s) - start ))s" >> runs/ablation_times.txt ) &
done
wait
