"""Image definitions: the Dockerfile template, build contexts and builds."""
