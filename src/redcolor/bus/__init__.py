"""redcolor.bus"""
