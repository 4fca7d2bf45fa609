"""The member's devices and their FCM tokens."""
