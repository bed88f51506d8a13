"""Operations: installing ds01 on a server, checking it, capping groups, knowing its users.

``install``  what ``ds01 admin install``/``uninstall`` put in place (and the manifest of it)
``doctor``   ``ds01 admin doctor``: every check with its fix
``slices``   ``ds01 admin setup-slices``: the group totals as systemd slices or cgroupfs limits
``users``    ``ds01 admin add-user`` / ``admin users``
``targets``  where each installed file goes, under a ``--root`` for staging and tests

A shared service beside ``gpu`` and ``limits``: it uses ``base`` (Docker, cgroups), ``gpu``
and ``limits``, and never units, orchestrators, wizards or the CLI, so the lifecycle pass
can re-apply the cgroup limits after a reboot.
"""
