"""redcolor.eval"""
