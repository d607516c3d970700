// A stand-in service for the readiness tests. After DELAY_MS it listens on 127.0.0.1:PORT and
// says so on stdout; then it answers every HTTP request with STATUS, or, when STATUS is 0,
// accepts connections and never answers (a service that hangs).
//
//   ready_server PORT DELAY_MS STATUS

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: ready_server PORT DELAY_MS STATUS\n");
    return 2;
  }
  const int port = atoi(argv[1]);
  const long delay_ms = atol(argv[2]);
  const int status = atoi(argv[3]);

  const struct timespec delay = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  nanosleep(&delay, NULL);

  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons((unsigned short)port);
  if (bind(listener, (struct sockaddr*)&address, sizeof address) != 0 ||
      listen(listener, 16) != 0) {
    perror("ready_server: cannot listen");
    return 1;
  }
  printf("listening on %d\n", port);
  fflush(stdout);

  for (;;) {
    const int client = accept(listener, NULL, NULL);
    if (client < 0 || status == 0) continue;  // with STATUS 0 the connection stays open, unanswered
    char request[4096];
    if (read(client, request, sizeof request) > 0) {
      char response[128];
      const int length =
          snprintf(response, sizeof response,
                   "HTTP/1.1 %d Test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
      send(client, response, (size_t)length, MSG_NOSIGNAL);
    }
    close(client);
  }
}
