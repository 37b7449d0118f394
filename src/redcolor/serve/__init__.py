"""redcolor.serve"""
