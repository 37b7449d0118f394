"""redcolor.warning"""
