# soak.png from a soak run's samples.csv and rss_load.csv: gnuplot -e "dir='DIR'; warmup=60" bench/soak/soak.gp
if (!exists("dir")) dir = '.'
if (!exists("warmup")) warmup = 60
if (!exists("secs")) secs = 600
if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {
  set terminal pngcairo size 1400,900 font ',11'
} else {
  set terminal png size 1400,900
}
set output dir.'/soak.png'
set datafile separator ','
set key autotitle columnhead
set datafile separator ','
stats dir.'/rss_load.csv' using 1 nooutput
xmin = STATS_min < 0 ? STATS_min : 0
set xrange [xmin:secs + 15]
set lmargin 12
set multiplot layout 2,1 title 'collab-bridge soak: '.system("sed -n 's/^workload: *//p' '".dir."/setup.txt' | head -1").' (connect phase before 0 s)'
set grid
set xlabel 'seconds since the load started'
set ylabel 'bridge RSS (MiB)'
set arrow 1 from warmup, graph 0 to warmup, graph 1 nohead dashtype 2 lc rgb '#888888'
set label 1 'warm-up end' at warmup, graph 0.95 offset 0.5,0 tc rgb '#888888'
set key top left
set yrange [0:*]
plot dir.'/rss_load.csv' using 1:($2/1024.0) with linespoints pt 7 ps 0.4 lw 2 lc rgb '#1f77b4' title 'RSS (every 5 s)'
unset arrow 1
unset label 1
set ylabel 'edit -> ack latency (ms)'
set yrange [0:*]
set key top left
plot dir.'/samples.csv' using 1:4 with lines lw 2 lc rgb '#2ca02c' title 'p50 (10-s windows)', \
     '' using 1:5 with lines lw 2 lc rgb '#ff7f0e' title 'p95', \
     '' using 1:6 with lines lw 2 lc rgb '#d62728' title 'p99'
unset multiplot
