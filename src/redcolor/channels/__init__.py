"""redcolor.channels"""
