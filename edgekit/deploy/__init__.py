"""From a desktop to a board: bundles (``edgekit bundle``) and SSH deploys with rollback (``edgekit deploy``)."""
