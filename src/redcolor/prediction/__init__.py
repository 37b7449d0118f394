"""redcolor.prediction"""
