print("parley-torture: under construction")
