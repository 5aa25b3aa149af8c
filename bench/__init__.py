"""Waybill benchmarks: `make bench` (`python -m bench`) prints the DESIGN.md section 9 figures."""
