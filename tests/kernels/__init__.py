"""The kernels: row and tile kernel forms, kernel threads, memory bounds, huge inputs."""
