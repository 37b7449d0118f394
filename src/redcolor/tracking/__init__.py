"""redcolor.tracking"""
