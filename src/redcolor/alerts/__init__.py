"""redcolor.alerts"""
