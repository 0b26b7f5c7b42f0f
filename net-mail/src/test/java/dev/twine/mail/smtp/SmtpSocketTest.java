package dev.twine.mail.smtp;

import static dev.twine.mail.smtp.SmtpTestSupport.delivered;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.twine.core.Tls;
import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The server over real loopback sockets: STARTTLS, AUTH, and Twine's and Angus Mail's clients. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SmtpSocketTest {
    @TempDir
    static Path certDir;

    static Path cert;
    static Path key;

    @TempDir
    Path dir;

    private SmtpServer running;

    @BeforeAll
    static void makeCertificate() throws Exception {
        Path[] ck = SmtpTestSupport.certificate(certDir);
        cert = ck[0];
        key = ck[1];
    }

    @AfterEach
    void stop() {
        if (running != null) {
            running.close();
        }
    }

    private int start(SmtpServer.Role role) throws Exception {
        running = SmtpTestSupport.server(dir).role(role).tls(Tls.server(cert, key)).listen("tcp:0:interface=127.0.0.1").build();
        running.start();
        return running.port();
    }

    @Test
    void commandsPipelinedAfterStartTlsInPlaintextAreDiscarded() throws Exception {
        int port = start(SmtpServer.Role.MX);
        try (Socket plain = new Socket("127.0.0.1", port)) {
            plain.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(plain.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream out = plain.getOutputStream();
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            out.write("EHLO c\r\n".getBytes(StandardCharsets.US_ASCII));
            String l;
            boolean offered = false;
            while ((l = in.readLine()).startsWith("250-")) {
                offered |= l.equals("250-STARTTLS");
            }
            assertTrue(offered || l.equals("250 STARTTLS"), "STARTTLS offered");
            // the injection: a command riding in the same packet as STARTTLS (RFC 3207 §4.2)
            out.write("STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertEquals("220 2.0.0 Ready to start TLS", in.readLine());
            SSLSocket tls = (SSLSocket) trustAll().getSocketFactory().createSocket(plain, "localhost", port, false);
            tls.setUseClientMode(true);
            tls.startHandshake();
            BufferedReader tin = new BufferedReader(new InputStreamReader(tls.getInputStream(), StandardCharsets.US_ASCII));
            OutputStream tout = tls.getOutputStream();
            tout.write("NOOP\r\n".getBytes(StandardCharsets.US_ASCII));
            tout.flush();
            assertEquals("250 2.0.0 Ok", tin.readLine(), "the first reply over TLS answers NOOP, not the injected MAIL");
            tout.write("MAIL FROM:<a@b.example>\r\nEHLO c\r\n".getBytes(StandardCharsets.US_ASCII));
            tout.flush();
            assertEquals("503 5.5.1 Send EHLO or HELO first", tin.readLine(), "the pre-TLS EHLO is forgotten");
            boolean starttlsAgain = false;
            boolean auth = false;
            while ((l = tin.readLine()).startsWith("250-")) {
                starttlsAgain |= l.contains("STARTTLS");
                auth |= l.contains("AUTH");
            }
            auth |= l.contains("AUTH");
            assertFalse(starttlsAgain, "no STARTTLS over TLS");
            assertTrue(auth, "AUTH offered once encrypted: " + l);
        }
    }

    @Test
    void smtpClientSubmitsThroughStartTlsAndAuth() throws Exception {
        int port = start(SmtpServer.Role.SUBMISSION);
        try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + port, Duration.ofSeconds(10))) {
            assertEquals(220, c.greeting().code());
            assertFalse(c.ehlo("client.test").contains("AUTH"), "no AUTH before TLS");
            SmtpException refused = assertThrows(SmtpException.class,
                    () -> c.send("alice@example.test", List.of("bob@example.test"), "x\r\n".getBytes(StandardCharsets.US_ASCII)));
            assertEquals(530, refused.reply().code());
            c.startTls(Tls.client(cert));
            assertTrue(c.isSecure());
            assertTrue(c.supports("AUTH"));
            SmtpException bad = assertThrows(SmtpException.class, () -> c.auth("alice", "nope"));
            assertEquals(535, bad.reply().code());
            c.auth("alice", "secret");
            byte[] msg = "Subject: via client\r\n\r\n.starts with a dot\r\nline two\nbare lf fixed\r\n".getBytes(StandardCharsets.US_ASCII);
            Map<String, Reply> rejected = c.send("alice@example.test", List.of("bob@example.test", "ghost@example.test"), msg);
            assertEquals(Map.of("ghost@example.test", Reply.of(550, "5.1.1 <ghost@example.test>: Recipient address rejected: User unknown")), rejected);
            c.quit();
        }
        List<Path> files = delivered(dir, "bob");
        assertEquals(1, files.size());
        String stored = Files.readString(files.get(0));
        assertTrue(stored.endsWith("\r\nSubject: via client\r\n\r\n.starts with a dot\r\nline two\r\nbare lf fixed\r\n"), stored);
        assertTrue(stored.contains(" with ESMTPSA id "), stored);
    }

    @Test
    void angusMailTransportSendsAnAttachmentThroughStartTlsAndAuth() throws Exception {
        int port = start(SmtpServer.Role.SUBMISSION);
        Properties p = new Properties();
        p.put("mail.smtp.host", "127.0.0.1");
        p.put("mail.smtp.port", String.valueOf(port));
        p.put("mail.smtp.auth", "true");
        p.put("mail.smtp.starttls.enable", "true");
        p.put("mail.smtp.starttls.required", "true");
        p.put("mail.smtp.ssl.trust", "*");
        p.put("mail.smtp.timeout", "10000");
        p.put("mail.smtp.connectiontimeout", "10000");
        Session session = Session.getInstance(p);
        MimeMessage m = new MimeMessage(session);
        m.setFrom(new InternetAddress("alice@example.test"));
        m.setRecipients(Message.RecipientType.TO, "bob@example.test");
        m.setSubject("report");
        MimeBodyPart text = new MimeBodyPart();
        text.setText("see attached\n.\nnot the end\n", "utf-8");
        MimeBodyPart attachment = new MimeBodyPart();
        byte[] data = new byte[3000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        attachment.setContent(data, "application/octet-stream");
        attachment.setFileName("data.bin");
        attachment.setHeader("Content-Transfer-Encoding", "base64");
        m.setContent(new MimeMultipart(text, attachment));
        m.saveChanges();
        try (Transport t = session.getTransport("smtp")) {
            t.connect("alice", "secret");
            t.sendMessage(m, m.getAllRecipients());
        }
        List<Path> files = delivered(dir, "bob");
        assertEquals(1, files.size());
        MimeMessage got = new MimeMessage(session, new ByteArrayInputStream(Files.readAllBytes(files.get(0))));
        assertEquals("report", got.getSubject());
        MimeMultipart mp = (MimeMultipart) got.getContent();
        assertEquals("see attached\r\n.\r\nnot the end\r\n", ((String) mp.getBodyPart(0).getContent()).replace("\n", "\r\n").replace("\r\r\n", "\r\n"));
        assertEquals("data.bin", mp.getBodyPart(1).getFileName());
        assertTrue(java.util.Arrays.equals(data, mp.getBodyPart(1).getInputStream().readAllBytes()), "attachment bytes intact");
        assertTrue(got.getHeader("Received")[0].contains("with ESMTPSA"));
    }

    @Test
    void smtpClientSendsAMimeMessageBuiltWithAngus() throws Exception {
        int port = start(SmtpServer.Role.MX);
        MimeMessage m = new MimeMessage(Session.getInstance(new Properties()));
        m.setFrom(new InternetAddress("sender@remote.example"));
        m.setRecipients(Message.RecipientType.TO, "alice@example.test");
        m.setRecipients(Message.RecipientType.BCC, "bob@example.test");
        m.setSubject("hello");
        m.setText("body\n", "utf-8");
        try (SmtpClient c = SmtpClient.connect("127.0.0.1:" + port, Duration.ofSeconds(10))) {
            c.ehlo("client.test");
            c.startTls(SmtpClient.opportunisticTls());
            assertEquals(Map.of(), c.send(m));
            c.quit();
        }
        assertEquals(1, delivered(dir, "alice").size());
        assertEquals(1, delivered(dir, "bob").size());
        String stored = Files.readString(delivered(dir, "bob").get(0));
        assertFalse(stored.contains("bob@example.test>\r\nBcc") || stored.contains("\r\nBcc:"), "Bcc header not sent: " + stored);
    }

    @Test
    void serverShutdownSays421ToWaitingSessions() throws Exception {
        int port = start(SmtpServer.Role.MX);
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            assertEquals("220 example.test ESMTP Twine", in.readLine());
            s.getOutputStream().write("HELO c\r\n".getBytes(StandardCharsets.US_ASCII));
            assertEquals("250 example.test", in.readLine());
            Thread stopper = Thread.ofVirtual().start(() -> {
                try {
                    running.shutdown(Duration.ofSeconds(5));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertEquals("421 4.3.2 example.test Service shutting down, closing connection", in.readLine());
            assertEquals(null, in.readLine());
            stopper.join(10_000);
        }
    }

    static SSLContext trustAll() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return ctx;
    }
}
