"""redcolor.geo"""
