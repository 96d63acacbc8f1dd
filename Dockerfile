# An image for instructors who run their own JupyterHub, or one machine for a room: JupyterLab
# with the Rust kernel ready and the notebooks' build dir pre-warmed. The set-up is postBuild, the
# script Binder runs, so there is one set-up to keep working (README, "Teaching a class").
# Untested on the development machine (no Docker engine there); postBuild itself is tested.
#
#   docker build -t workshop-rs .
#   docker run --rm -p 8888:8888 workshop-rs          # one machine: open the URL it prints
#
# On JupyterHub (zero-to-jupyterhub): singleuser.image is this image; JUPYTERHUB_VERSION must
# match the hub's.
FROM debian:bookworm-slim

ARG JUPYTERHUB_VERSION=6.1.1

# What repo2docker's base image gives postBuild, and Java for TLC (`make tla`): bookworm's
# python3 is 3.11, as environment.yml pins, and default-jre-headless is Java 17.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates curl gcc libc6-dev make git python3 python3-venv default-jre-headless \
    && rm -rf /var/lib/apt/lists/*

# The learner: uid 1000, as JupyterHub's images expect. The workshop lives outside the home
# directory, which a hub mounts per learner.
RUN useradd --create-home --uid 1000 --shell /bin/bash jovyan \
    && mkdir -p /opt/cargo /opt/rustup /srv/workshop \
    && chown jovyan /opt/cargo /opt/rustup /srv/workshop
ENV CARGO_HOME=/opt/cargo RUSTUP_HOME=/opt/rustup PATH=/opt/cargo/bin:$PATH
USER jovyan
WORKDIR /srv/workshop
COPY --chown=jovyan . .

RUN ./postBuild \
    && .venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
        "jupyterhub==${JUPYTERHUB_VERSION}"

# Jupyter finds the kernel in the project's .jupyter/ whatever the home directory holds.
ENV PATH=/srv/workshop/.venv/bin:$PATH JUPYTER_PATH=/srv/workshop/.jupyter
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", \
     "--ServerApp.root_dir=/srv/workshop/notebooks"]
