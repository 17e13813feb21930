print("parley-bench: under construction")
