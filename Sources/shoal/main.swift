print("shoal: the command line arrives with `shoal ring`")
