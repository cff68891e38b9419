"""How long a test waits for something that usually takes milliseconds or seconds.

Only to turn a hang into a failure, never to check speed: speed is measured by `make bench`.
On a loaded two-core machine a step can take a hundred times its usual time, so this is far
beyond any of them.
"""

HANG_S = 900.0
