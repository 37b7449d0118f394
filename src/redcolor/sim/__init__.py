"""redcolor.sim"""
