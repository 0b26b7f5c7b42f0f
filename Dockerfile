# Twine's servers in a container: build with the JDK, run on a JRE as an unprivileged user.
#   docker build -t twine .
#   docker run --rm -p 2525:2525 -v twine-data:/var/lib/twine twine \
#       mail --domain example.org --users /var/lib/twine/users --maildir /var/lib/twine/mail \
#       --smtp tcp:2525
# Every server command of ./twine works the same way (see docs/deploy.md); data lives under the
# /var/lib/twine volume. Not built in CI, where no container engine runs.

FROM eclipse-temurin:21-jdk AS build
WORKDIR /src
COPY . .
RUN ./mvnw -B -q -DskipTests -pl samples -am package

FROM eclipse-temurin:21-jre
RUN groupadd --system twine && useradd --system --gid twine --home-dir /var/lib/twine twine \
    && mkdir -p /var/lib/twine && chown twine:twine /var/lib/twine
COPY --from=build /src/samples/target/lib /opt/twine/lib
USER twine
WORKDIR /var/lib/twine
VOLUME ["/var/lib/twine"]
# servers inside a container listen on every interface; publish only the ports you mean to
ENTRYPOINT ["java", "-p", "/opt/twine/lib", "-m", "dev.twine.samples/dev.twine.samples.Main"]
CMD ["help"]
