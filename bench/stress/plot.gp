# Tasks per second against concurrency, wasmshim and runc (bench/run.sh stress-plot).
set terminal pngcairo size 800,500 noenhanced
set output outfile
set title "Container start-up under load: demo echo, one shim per task, direct to the shims"
set xlabel "tasks at once"
set ylabel "tasks per second"
set logscale x 2
set key bottom right
set yrange [0:*]
set grid
plot datafile using 1:2 with linespoints lw 2 title "wasmshim (containerd-shim-wasmshim-v1)", \
     datafile using 1:3 with linespoints lw 2 title "runc (containerd-shim-runc-v2 + runc)"
