#include "session.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

#include "faultline/proxy/events.h"
#include "proxy_instance.h"

namespace faultline::proxy {
namespace {

using boost::asio::ip::tcp;

constexpr std::size_t kScratchSize = 256 << 10;
constexpr int kReadsPerWakeup = 16;
// Through toxics, a read at least this big starts the peek-and-splice path (the toxics see a
// copy, the bytes are spliced on), and a smaller peek ends it. Plain reads would copy the
// bytes in, and out again. Without toxics a read must fill the scratch buffer: below that,
// recv and send measured faster than splicing (a busy sender's 16 KiB writes, 1.1x).
constexpr std::size_t kStreamingRead = 64 << 10;
// A direction paused because the proxy's connections hold its whole budget looks again after
// this long.
constexpr auto kBudgetRetry = std::chrono::milliseconds(10);
// Buffers handed to one sendmsg when queued output is written.
constexpr std::size_t kWriteBatch = 64;
// A gracefully closing connection gets this long to write out what it was already given.
constexpr auto kCloseGrace = std::chrono::seconds(5);
// An upstream that neither accepts nor refuses within this long is given up on.
constexpr auto kConnectTimeout = std::chrono::seconds(10);

// Reads land here first; an idle connection owns no buffer of its own.
char* Scratch() {
  thread_local std::unique_ptr<char[]> buffer(new char[kScratchSize]);
  return buffer.get();
}

bool WouldBlock(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

// Drops up to `size` bytes waiting in a TCP socket without copying them anywhere (MSG_TRUNC
// with no buffer). Made as a system call: the sanitizers' recv wrappers would record a
// write of `size` bytes through the null pointer, one that two threads "share".
ssize_t DiscardReceived(int socket, std::size_t size) {
  return ::syscall(SYS_recvfrom, socket, nullptr, size, MSG_TRUNC | MSG_DONTWAIT, nullptr, nullptr);
}

// Pipes for the zero-copy path (splice), kept per thread. A flow holds one only while data
// sits in it, so an idle connection owns no descriptors beyond its two sockets.
struct Pipe {
  int read = -1;
  int write = -1;
  bool valid() const { return read >= 0; }
};

constexpr std::size_t kPooledPipes = 32;
constexpr int kPipeCapacity = 1 << 20;
constexpr std::size_t kSpliceBatch = 1 << 20;

// Streaming through toxics, the toxics see the socket's bytes here, a splice batch at a time.
char* PeekBuffer() {
  thread_local std::unique_ptr<char[]> buffer(new char[kSpliceBatch]);
  return buffer.get();
}

std::vector<Pipe>& FreePipes() {
  thread_local std::vector<Pipe> pipes;
  return pipes;
}

void ClosePipe(Pipe pipe) {
  if (!pipe.valid()) return;
  ::close(pipe.read);
  ::close(pipe.write);
}

Pipe AcquirePipe() {
  auto& pool = FreePipes();
  if (!pool.empty()) {
    Pipe pipe = pool.back();
    pool.pop_back();
    return pipe;
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  // A bigger pipe moves more per system call; the default (64 KiB) still works if refused.
  ::fcntl(fds[1], F_SETPIPE_SZ, kPipeCapacity);
  return {fds[0], fds[1]};
}

// Only empty pipes go back to the pool.
void ReleasePipe(Pipe pipe) {
  auto& pool = FreePipes();
  if (pool.size() < kPooledPipes) {
    pool.push_back(pipe);
  } else {
    ClosePipe(pipe);
  }
}

}  // namespace

class Session::Flow final : public PipelineSink {
 public:
  Flow(Session& session, tcp::socket& from, tcp::socket& to, Stream stream,
       prometheus::Counter* bytes)
      : session_(session),
        from_(from),
        to_(to),
        stream_(stream),
        bytes_(bytes),
        pipeline_(session.worker_.clock, *this,
                  core::DeriveSeed(session.seed_, {StreamName(stream)}), session.MakeEnv()),
        retry_(session.worker_.clock.MakeTimer()) {}

  ~Flow() {
    ClosePipe(pipe_);
    session_.proxy_->AddBuffered(-static_cast<std::int64_t>(published_));
  }

  void SetToxics(const ToxicSet& toxics) {
    pipeline_.SetToxics(toxics.For(stream_), session_.client_ip_);
    if (paused_) WaitReadable();
  }

  void WaitReadable() {
    if (read_waiting_ || source_ended_ || session_.state_ != State::kOpen) return;
    if (Backlog() > kDirectionBudget) {
      paused_ = true;  // this direction's own output or toxics resume it
      return;
    }
    if (ProxyOverBudget()) {
      // Other connections hold the proxy's budget: look again shortly.
      paused_ = true;
      retry_->ArmAt(session_.worker_.clock.Now() + kBudgetRetry, [this] { WaitReadable(); });
      return;
    }
    paused_ = false;
    read_waiting_ = true;
    from_.async_wait(tcp::socket::wait_read, [self = session_.shared_from_this(),
                                              this](const boost::system::error_code& ec) {
      read_waiting_ = false;
      if (!ec) OnReadable();
    });
  }

  // Tells the proxy how much this direction now holds in user space.
  void Publish() {
    const std::size_t backlog = out_bytes_ + pipeline_.buffered_bytes();
    if (backlog == published_) return;
    session_.proxy_->AddBuffered(static_cast<std::int64_t>(backlog) -
                                 static_cast<std::int64_t>(published_));
    published_ = backlog;
  }
  bool ProxyOverBudget() const { return session_.proxy_->buffered() > kProxyBudget; }

  bool drained() const { return OutputEmpty(); }
  bool finished() const { return shutdown_sent_; }

  // PipelineSink
  void Deliver(Chunk chunk) override {
    if (session_.state_ != State::kOpen) return;
    if (batching_) {
      // Emitted while a read is processed (a frame toxic cuts one read into many frames):
      // queued, and written together when the read is done.
      if (chunk.data.empty()) return;
      out_bytes_ += chunk.data.size();
      out_.push_back(Pending{std::move(chunk.data), 0});
      return;
    }
    Write(chunk.data.data(), chunk.data.size(), &chunk.data);
    Publish();
    // Written at once: keep the buffer for the next read (Write took it if it queued).
    if (chunk.data.capacity() > spare_.capacity()) spare_ = std::move(chunk.data);
    // Data a stage held (latency, hold) has gone out: reading may resume below the mark.
    if (paused_ && OutputEmpty()) WaitReadable();
  }
  void DeliverEnd() override {
    if (session_.state_ != State::kOpen) return;
    if (OutputEmpty()) {
      ShutdownSend();
    } else {
      end_pending_ = true;
    }
  }
  void Close(CloseMode mode) override { session_.Close(mode); }
  void ToxicActivated(const ToxicSpec& spec) override {
    session_.proxy_->metrics()
        .toxic_activations->Add({{"proxy", session_.proxy_->name()}, {"kind", spec.type}})
        .Increment();
  }

 private:
  struct Pending {
    std::vector<char> data;
    std::size_t offset = 0;
  };

  std::size_t Backlog() const { return out_bytes_ + in_pipe_ + pipeline_.buffered_bytes(); }
  bool OutputEmpty() const { return in_pipe_ == 0 && out_.empty(); }

  enum class Step { kAgain, kIdle, kStop };

  // With no toxic active, moves one batch from source to destination through a pipe, so the
  // bytes never enter user space. Stops reading while the destination lags: the kernel's
  // socket buffers then push back on the sender, and nothing piles up here.
  Step SpliceBatch() {
    if (!pipe_.valid()) {
      pipe_ = AcquirePipe();
      if (!pipe_.valid()) {
        splice_failed_ = true;  // out of descriptors: copy through user space instead
        return Step::kAgain;
      }
    }
    const ssize_t n = ::splice(from_.native_handle(), nullptr, pipe_.write, nullptr, kSpliceBatch,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      bytes_->Increment(static_cast<double>(n));
      pipeline_.Bypassed();
      if (!SendPiped(static_cast<std::size_t>(n))) return Step::kStop;
      if (static_cast<std::size_t>(n) < kSpliceBatch) {
        streaming_ = false;  // the burst is over: back to plain reads
        return Step::kIdle;
      }
      return Step::kAgain;
    }
    if (n == 0) {
      ReleasePipe(pipe_);  // empty: everything read was written
      pipe_ = {};
      source_ended_ = true;
      pipeline_.End();
      return Step::kStop;
    }
    if (errno == EINTR) return Step::kAgain;
    if (WouldBlock(errno)) return Step::kIdle;
    if (errno == EINVAL || errno == ENOSYS) {
      splice_failed_ = true;
      return Step::kAgain;
    }
    session_.Abort(/*propagate_reset=*/errno == ECONNRESET);
    return Step::kStop;
  }

  // Streaming through toxics: the toxics see a copy of the bytes waiting in the socket. When
  // they let them pass unchanged (a frame toxic waiting for a later frame), the bytes
  // themselves go on through the pipe, so they are copied once rather than in and out.
  Step ForwardPeeked(const char* peeked, std::size_t size) {
    bytes_->Increment(static_cast<double>(size));
    if (pipeline_.Offer({peeked, size}, session_.worker_.clock.Now())) {
      owed_ = size;
      if (SpliceOwed() == Step::kStop) return Step::kStop;
    } else {
      // A toxic took a copy: the socket's bytes are done with.
      for (std::size_t left = size; left > 0;) {
        const ssize_t n = DiscardReceived(from_.native_handle(), left);
        if (n > 0) {
          left -= static_cast<std::size_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          session_.Abort(/*propagate_reset=*/n < 0 && errno == ECONNRESET);
          return Step::kStop;
        }
      }
      if (session_.state_ != State::kOpen) return Step::kStop;
      if (!OutputEmpty()) {
        paused_ = true;  // resume once the destination has caught up
        return Step::kStop;
      }
    }
    if (size < kStreamingRead) {
      streaming_ = false;
      return Step::kIdle;
    }
    return size < kSpliceBatch ? Step::kIdle : Step::kAgain;
  }

  // Moves bytes the toxics let pass (owed_), still in the source socket, to the destination.
  Step SpliceOwed() {
    if (!pipe_.valid()) pipe_ = AcquirePipe();
    if (!pipe_.valid() || splice_failed_) return CopyOwed();
    const ssize_t n = ::splice(from_.native_handle(), nullptr, pipe_.write, nullptr, owed_,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) {
      owed_ -= static_cast<std::size_t>(n);
      return SendPiped(static_cast<std::size_t>(n)) ? Step::kAgain : Step::kStop;
    }
    if (n < 0 && errno == EINTR) return Step::kAgain;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
      splice_failed_ = true;
      return CopyOwed();
    }
    // The bytes were there when peeked; only a broken connection loses them.
    session_.Abort(/*propagate_reset=*/n < 0 && errno == ECONNRESET);
    return Step::kStop;
  }

  // SpliceOwed without a pipe: through user space.
  Step CopyOwed() {
    char* buffer = Scratch();
    const ssize_t n =
        ::recv(from_.native_handle(), buffer, std::min(owed_, kScratchSize), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) return Step::kAgain;
    if (n <= 0) {
      session_.Abort(/*propagate_reset=*/n < 0 && errno == ECONNRESET);
      return Step::kStop;
    }
    owed_ -= static_cast<std::size_t>(n);
    Write(buffer, static_cast<std::size_t>(n), nullptr);
    if (session_.state_ != State::kOpen) return Step::kStop;
    if (!OutputEmpty()) {
      paused_ = true;
      return Step::kStop;
    }
    return Step::kAgain;
  }

  // Sends the `n` bytes just spliced into the pipe, and what it held before; false when the
  // flow must stop reading: aborted, or the destination lags and resumes it when writable.
  bool SendPiped(std::size_t n) {
    in_pipe_ += n;
    if (!DrainPipe()) return false;
    if (in_pipe_ == 0) return true;
    paused_ = true;
    WaitWritable();
    return false;
  }

  // Writes what the pipe holds; false if the connection was aborted.
  bool DrainPipe() {
    while (in_pipe_ > 0) {
      const ssize_t n = ::splice(pipe_.read, nullptr, to_.native_handle(), nullptr, in_pipe_,
                                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        in_pipe_ -= static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && WouldBlock(errno)) return true;
      session_.Abort(/*propagate_reset=*/true);
      return false;
    }
    ReleasePipe(pipe_);
    pipe_ = {};
    return true;
  }

  // What the toxics emit while reads are processed goes out in as few system calls as
  // possible (one sendmsg for many small frames), after the reads.
  void OnReadable() {
    batching_ = true;
    ReadSome();
    batching_ = false;
    if (!out_.empty() && !write_waiting_) OnWritable();
    Publish();
  }

  std::size_t room() const override {
    const std::size_t own = Backlog();
    // The proxy's total as it is now: this direction's share as published, corrected.
    const auto total = static_cast<std::int64_t>(session_.proxy_->buffered()) +
                       static_cast<std::int64_t>(own) - static_cast<std::int64_t>(published_);
    const std::size_t proxy = total > 0 ? static_cast<std::size_t>(total) : 0;
    const std::size_t direction_room = own < kDirectionBudget ? kDirectionBudget - own : 0;
    const std::size_t proxy_room = proxy < kProxyBudget ? kProxyBudget - proxy : 0;
    return std::min(direction_room, proxy_room);
  }

  void ReadSome() {
    if (session_.state_ != State::kOpen) return;
    char* buffer = Scratch();
    const int fd = from_.native_handle();
    for (int i = 0; i < kReadsPerWakeup; ++i) {
      if (Backlog() > kDirectionBudget) {
        paused_ = true;
        return;
      }
      if (owed_ > 0) {
        if (SpliceOwed() == Step::kStop) return;
        continue;
      }
      if (streaming_ && OutputEmpty() && !splice_failed_) {
        Step step = Step::kAgain;
        if (pipeline_.bypass()) {
          step = SpliceBatch();
        } else {
          char* peek = PeekBuffer();
          const ssize_t n = ::recv(fd, peek, kSpliceBatch, MSG_PEEK | MSG_DONTWAIT);
          if (n < 0 && errno != EINTR && !WouldBlock(errno)) {
            // The peek took the socket's error: a plain read after it would see only the
            // end, and a reset would pass for the client's last byte.
            session_.Abort(/*propagate_reset=*/errno == ECONNRESET);
            return;
          }
          // Nothing or the end: the plain read below says which.
          if (n <= 0) streaming_ = false;
          if (n > 0) step = ForwardPeeked(peek, static_cast<std::size_t>(n));
        }
        if (step == Step::kStop) return;
        if (step == Step::kIdle) break;
        if (streaming_) continue;
      }
      // Streaming through toxics, reads land straight in the buffer the last chunk left
      // behind (resizing fills only what that chunk did not use); otherwise in the scratch.
      std::vector<char> data;
      char* target = buffer;
      if (!pipeline_.bypass() && spare_.capacity() >= kScratchSize) {
        data = std::move(spare_);
        data.resize(kScratchSize);
        target = data.data();
      }
      const ssize_t n = ::recv(fd, target, kScratchSize, MSG_DONTWAIT);
      if (n > 0) {
        bytes_->Increment(static_cast<double>(n));
        // A bulk transfer: the next reads take the zero-copy path. Decided before the bytes
        // are passed on, since what the toxics emit is written after the read (batching) and
        // the read returns to let it go out.
        streaming_ =
            static_cast<std::size_t>(n) >= (pipeline_.bypass() ? kScratchSize : kStreamingRead);
        if (pipeline_.bypass()) {
          pipeline_.Bypassed();
          Write(buffer, static_cast<std::size_t>(n), nullptr);
          if (!OutputEmpty()) {
            paused_ = true;  // resume once the destination has taken it
            return;
          }
        } else {
          if (target == buffer) {
            data = std::move(spare_);  // reuse its allocation, if any
            data.assign(buffer, buffer + n);
          } else {
            data.resize(static_cast<std::size_t>(n));
          }
          pipeline_.Push(Chunk{std::move(data), session_.worker_.clock.Now()});
          if (!OutputEmpty()) {
            paused_ = true;  // as without toxics: resume once the destination has caught up
            return;
          }
        }
        if (session_.state_ != State::kOpen) return;
        if (static_cast<std::size_t>(n) < kScratchSize) {
          std::vector<char>().swap(spare_);  // the socket is empty: a waiting flow owns no buffer
          break;
        }
        continue;
      }
      if (n == 0) {
        source_ended_ = true;
        pipeline_.End();
        return;
      }
      if (errno == EINTR) continue;
      if (WouldBlock(errno)) break;
      session_.Abort(/*propagate_reset=*/errno == ECONNRESET);
      return;
    }
    WaitReadable();
  }

  // Writes now if nothing is queued, and queues what the socket did not take.
  void Write(const char* data, std::size_t size, std::vector<char>* owned) {
    if (size == 0) return;
    std::size_t written = 0;
    if (OutputEmpty()) {
      const ssize_t n = ::send(to_.native_handle(), data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && !WouldBlock(errno) && errno != EINTR) {
        session_.Abort(/*propagate_reset=*/true);
        return;
      }
      written = n > 0 ? static_cast<std::size_t>(n) : 0;
      if (written == size) return;
    }
    if (owned != nullptr) {
      out_.push_back(Pending{std::move(*owned), written});
    } else {
      out_.push_back(Pending{std::vector<char>(data + written, data + size), 0});
    }
    out_bytes_ += size - written;
    WaitWritable();
  }

  void WaitWritable() {
    if (write_waiting_) return;
    write_waiting_ = true;
    to_.async_wait(tcp::socket::wait_write,
                   [self = session_.shared_from_this(), this](const boost::system::error_code& ec) {
                     write_waiting_ = false;
                     if (!ec) OnWritable();
                   });
  }

  void OnWritable() {
    if (session_.state_ == State::kClosed) return;
    if (!WriteQueued()) return;
    Publish();
    if (!OutputEmpty()) {
      WaitWritable();
      return;
    }
    if (session_.state_ == State::kClosing) {
      session_.MaybeFinish();
      return;
    }
    if (end_pending_) ShutdownSend();
    if (paused_) WaitReadable();
  }

  // A stage needs what it emitted so far on the wire before it goes on (a point is reached
  // once its frame has passed): the batch is written now.
  void Sync() override {
    if (batching_ && !write_waiting_ && session_.state_ != State::kClosed) WriteQueued();
  }

  // Writes what the pipe and the queue hold, as far as the socket takes it; false if the
  // connection was aborted.
  bool WriteQueued() {
    if (in_pipe_ > 0 && (!DrainPipe() || in_pipe_ > 0)) return session_.state_ != State::kClosed;
    while (!out_.empty()) {
      // Up to kWriteBatch queued buffers per call.
      iovec parts[kWriteBatch];
      std::size_t count = 0;
      for (auto it = out_.begin(); it != out_.end() && count < kWriteBatch; ++it, ++count) {
        parts[count].iov_base = it->data.data() + it->offset;
        parts[count].iov_len = it->data.size() - it->offset;
      }
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = count;
      const ssize_t n = ::sendmsg(to_.native_handle(), &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (WouldBlock(errno) || errno == EINTR) break;
        session_.Abort(/*propagate_reset=*/true);
        return false;
      }
      out_bytes_ -= static_cast<std::size_t>(n);
      for (auto left = static_cast<std::size_t>(n); left > 0;) {
        Pending& front = out_.front();
        const std::size_t take = std::min(left, front.data.size() - front.offset);
        front.offset += take;
        left -= take;
        if (front.offset == front.data.size()) out_.pop_front();
      }
      if (!out_.empty() && out_.front().offset > 0) break;  // the socket is full
    }
    return true;
  }

  void ShutdownSend() {
    end_pending_ = false;
    boost::system::error_code ignored;
    to_.shutdown(tcp::socket::shutdown_send, ignored);
    shutdown_sent_ = true;
    session_.MaybeFinish();
  }

  Session& session_;
  tcp::socket& from_;
  tcp::socket& to_;
  Stream stream_;
  prometheus::Counter* bytes_;
  Pipeline pipeline_;
  std::deque<Pending> out_;
  std::size_t out_bytes_ = 0;
  std::vector<char> spare_;  // a delivered chunk's buffer, reused by the next read
  Pipe pipe_;
  std::size_t in_pipe_ = 0;  // bytes read into pipe_ and not yet written out
  // Bytes the toxics counted as passed that are still in the source socket: they go out
  // before anything else is read.
  std::size_t owed_ = 0;
  bool splice_failed_ = false;
  // Small messages go through recv/send (fewest system calls); once a read fills the whole
  // scratch buffer the flow is streaming and switches to splice until the burst ends.
  bool streaming_ = false;
  bool read_waiting_ = false;
  bool write_waiting_ = false;
  bool paused_ = false;
  bool batching_ = false;               // inside OnReadable: Deliver queues, OnReadable writes
  std::size_t published_ = 0;           // this direction's share of the proxy's buffered bytes
  std::unique_ptr<core::Timer> retry_;  // reading again while the proxy is over budget
  bool source_ended_ = false;
  bool end_pending_ = false;
  bool shutdown_sent_ = false;
};

Session::Session(std::shared_ptr<ProxyInstance> proxy, Worker& worker, tcp::socket client,
                 std::uint64_t connection, std::uint64_t seed)
    : proxy_(std::move(proxy)),
      worker_(worker),
      client_(std::move(client)),
      upstream_(worker.context),
      deadline_(worker.clock.MakeTimer()),
      connection_(connection),
      seed_(seed) {
  boost::system::error_code ec;
  const tcp::endpoint peer = client_.remote_endpoint(ec);
  if (!ec) client_ip_ = peer.address().to_string();
  proxy_->metrics().connections_active->Increment();
  proxy_->metrics().connections_total->Increment();
}

std::shared_ptr<Session> Session::Create(std::shared_ptr<ProxyInstance> proxy, Worker& worker,
                                         tcp::socket client, std::uint64_t connection,
                                         std::uint64_t seed) {
  return OwnedBy(worker.context,
                 new Session(std::move(proxy), worker, std::move(client), connection, seed));
}

Session::~Session() = default;

PipelineEnv Session::MakeEnv() const {
  PipelineEnv env;
  env.proxy = proxy_->name();
  env.connection = connection_;
  env.events = proxy_->runtime().events;
  env.holds = proxy_->runtime().holds;
  env.post = [&context = worker_.context](std::function<void()> task) {
    boost::asio::post(context, std::move(task));
  };
  return env;
}

void Session::Record(const std::string& toxic, const std::string& action,
                     const std::string& detail) {
  EventLog* events = proxy_->runtime().events;
  if (events == nullptr) return;
  Event event;
  event.proxy = proxy_->name();
  event.connection = connection_;
  event.toxic = toxic;
  event.action = action;
  event.detail = detail;
  events->Append(std::move(event));
}

void Session::Start(std::shared_ptr<const ToxicSet> toxics) {
  pending_toxics_ = std::move(toxics);
  if (state_ != State::kConnecting) return;  // shut down before it started
  if (pending_toxics_) {
    ApplyConnectionToxics(*pending_toxics_);
  } else {
    Connect();
  }
}

void Session::ApplyConnectionToxics(const ToxicSet& toxics) {
  core::Duration accept_delay{};
  for (Stream stream : {Stream::kUpstream, Stream::kDownstream}) {
    for (const ToxicSpec& spec : toxics.For(stream)) {
      if (!IsConnectionToxic(spec.type) || !spec.target.Matches(connection_, client_ip_)) continue;
      // Each toxic's own stream, so adding one never shifts another's decisions.
      core::Rng rng(core::DeriveSeed(seed_, {"connection", spec.name}));
      if (!spec.probability().Sample(rng)) continue;
      if (spec.type == "connect_refuse") {
        Record(spec.name, "refuse", "client reset, upstream not contacted");
        Close(CloseMode::kReset);
        return;
      }
      const core::Duration delay = std::chrono::milliseconds(spec.Int("delay"));
      if (spec.type == "accept_delay") {
        accept_delay += delay;
        Record(spec.name, "accept_delay", core::FormatDuration(delay));
      } else {
        connect_delay_ += delay;
        Record(spec.name, "connect_delay", core::FormatDuration(delay));
      }
    }
  }
  // Before the accept delay is over the connection is left alone; then the connect waits.
  const core::Duration wait = accept_delay + connect_delay_;
  if (wait.count() == 0) {
    Connect();
    return;
  }
  deadline_->ArmAt(worker_.clock.Now() + wait, [this] { Connect(); });
}

void Session::Connect() {
  if (state_ != State::kConnecting) return;
  deadline_->ArmAt(worker_.clock.Now() + kConnectTimeout, [this] { Close(CloseMode::kGraceful); });
  Upstream& upstream = proxy_->upstream();
  if (const auto* endpoints = upstream.fixed()) {
    ConnectTo(*endpoints);
    return;
  }
  // The lookup answers on its own thread, maybe after this session or the server is gone.
  upstream.Resolve([weak = weak_from_this(),
                    mailbox = worker_.mailbox](const core::Result<Upstream::Endpoints>& found) {
    mailbox->Post([weak, found] {
      auto self = weak.lock();
      if (!self || self->state_ != State::kConnecting) return;
      if (!found) {
        // Like a refused connect: the client sees its accepted connection close.
        self->Record("", "upstream_unresolved", found.message());
        self->Finish();
        return;
      }
      self->ConnectTo(*found);
    });
  });
}

void Session::ConnectTo(const std::vector<tcp::endpoint>& endpoints) {
  boost::asio::async_connect(
      upstream_, endpoints,
      [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
        self->OnConnected(ec);
      });
}

void Session::OnConnected(const boost::system::error_code& ec) {
  if (state_ != State::kConnecting) return;
  deadline_->Cancel();
  if (ec) {
    // Like Toxiproxy: the client sees its accepted connection close.
    Record("", "upstream_unreachable", proxy_->upstream().address() + ": " + ec.message());
    Finish();
    return;
  }
  boost::system::error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  upstream_.set_option(tcp::no_delay(true), ignored);
  // splice() honours only the descriptors' own O_NONBLOCK, not a per-call flag.
  client_.native_non_blocking(true, ignored);
  upstream_.native_non_blocking(true, ignored);
  state_ = State::kOpen;
  up_ = std::make_unique<Flow>(*this, client_, upstream_, Stream::kUpstream,
                               proxy_->metrics().bytes_upstream);
  down_ = std::make_unique<Flow>(*this, upstream_, client_, Stream::kDownstream,
                                 proxy_->metrics().bytes_downstream);
  ApplyToxics(std::move(pending_toxics_));
  if (state_ != State::kOpen) return;
  up_->WaitReadable();
  down_->WaitReadable();
}

void Session::ApplyToxics(std::shared_ptr<const ToxicSet> toxics) {
  if (!up_) {
    pending_toxics_ = std::move(toxics);
    return;
  }
  if (state_ != State::kOpen || !toxics) return;
  up_->SetToxics(*toxics);
  if (state_ == State::kOpen) down_->SetToxics(*toxics);
}

void Session::Shutdown() { Finish(); }

void Session::Close(CloseMode mode) {
  if (state_ == State::kClosed) return;
  if (mode == CloseMode::kReset) {
    boost::system::error_code ignored;
    client_.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    upstream_.set_option(boost::asio::socket_base::linger(true, 0), ignored);
    Finish();
    return;
  }
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  deadline_->ArmAt(worker_.clock.Now() + kCloseGrace, [this] { Finish(); });
  MaybeFinish();
}

void Session::Abort(bool propagate_reset) {
  Close(propagate_reset ? CloseMode::kReset : CloseMode::kGraceful);
  if (state_ != State::kClosed) Finish();
}

void Session::MaybeFinish() {
  if (state_ == State::kClosing) {
    if ((!up_ || up_->drained()) && (!down_ || down_->drained())) Finish();
    return;
  }
  if (state_ == State::kOpen && up_->finished() && down_->finished()) Finish();
}

void Session::Finish() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  deadline_->Cancel();
  boost::system::error_code ignored;
  client_.close(ignored);
  upstream_.close(ignored);
  proxy_->metrics().connections_active->Decrement();
  // Safe inside a stage's call chain: the last release only schedules the destruction.
  proxy_->Remove(this);
}

}  // namespace faultline::proxy
