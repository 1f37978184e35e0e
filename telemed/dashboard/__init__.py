"""Network dashboard (网络运行看板): per-league figures of the network for coordinators and
administrators. Aggregates only; it reads the other domains through their report modules."""
