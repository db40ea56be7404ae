"""Commands about the environment and its images: doctor, images, engines, layers and inspect."""
