/** Catálogo em português do Brasil. Tem exatamente as mesmas chaves que en.ts. */
import type { Messages } from "./en.ts";

const number = new Intl.NumberFormat("pt-BR");
const seconds = new Intl.NumberFormat("pt-BR", {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});
const plural = (n: number, one: string, many: string) =>
  `${number.format(n)} ${n === 1 ? one : many}`;

export const pt: Messages = {
  // comum
  usageError: (problem, program) => `erro: ${problem} (veja: bun run ${program} --help)`,
  unknownOption: (option) => `opção desconhecida ${option}`,
  missingValue: (option) => `a opção ${option} precisa de um valor`,
  unexpectedArgument: (arg) => `argumento inesperado "${arg}"`,
  badPort: (source, value) => `${source} deve ser um número inteiro de 0 a 65535, não "${value}"`,
  badClientPort: (source, value) =>
    `${source} deve ser um número inteiro de 1 a 65535, não "${value}"`,
  badMode: (source, value) => `${source} deve ser once, sequential ou concurrent, não "${value}"`,
  badSeconds: (source, value) =>
    `${source} deve ser um número positivo de segundos, não "${value}"`,
  badCount: (source, value) =>
    `${source} deve ser um número inteiro de pelo menos 1, não "${value}"`,
  badBytes: (source, value) =>
    `${source} deve ser um tamanho em bytes como 65536, 64k ou 1m (no máximo 1024m), não "${value}"`,
  badWorkers: (source, value, max) =>
    `${source} deve ser auto ou um número inteiro de 1 a ${max}, não "${value}"`,
  tlsPairNeeded: "--tls-cert e --tls-key andam juntas: dê as duas, ou nenhuma",
  badLang: (value) => `--lang deve ser en ou pt, não "${value}"`,

  // servidor
  serverHelp: `Uso: bun run server [opções]

Servidor de eco, o lado passivo: devolve cada byte que recebe, sem alterar.

Opções (variável de ambiente entre colchetes):
  --host HOST     endereço em que escutar; 0.0.0.0 ou :: atende também
                  outras máquinas (padrão 127.0.0.1)            [ECHO_HOST]
  --port PORTA    porta em que escutar; 0 escolhe uma livre (padrão 5000)
                                                                [ECHO_PORT]
  --mode MODO     once        atende um cliente e termina (padrão)
                  sequential  um cliente por vez; os outros esperam
                  concurrent  todos os clientes ao mesmo tempo  [ECHO_MODE]
  --max-connections N   fecha conexões novas além de N abertas
                        (padrão 10000)               [ECHO_MAX_CONNECTIONS]
  --idle-timeout SEG    fecha uma conexão sem tráfego por esse tempo;
                        0 = nunca (padrão 300)          [ECHO_IDLE_TIMEOUT]
  --max-buffer BYTES    eco guardado para um cliente que lê mais devagar
                        do que envia, antes de o servidor parar de ler;
                        65536, 64k, 1m (padrão 256k)      [ECHO_MAX_BUFFER]
  --workers N     N processos servidores dividindo a porta (SO_REUSEPORT),
                  para usar todos os núcleos; auto = um por núcleo; exige
                  --mode concurrent; limites valem por processo (padrão 1)
                                                             [ECHO_WORKERS]
  --tls-cert ARQ  serve TLS com este certificado (PEM)     [ECHO_TLS_CERT]
  --tls-key ARQ   e esta chave privada (PEM)                [ECHO_TLS_KEY]
  -q, --quiet     mostra só a linha de escuta e os erros
  --trace         mostra cada evento do socket na saída de erro, com o tempo
  --lang LÍNGUA   en ou pt (padrão: de LC_ALL, LC_MESSAGES, LANG)
  -h, --help      mostra esta ajuda
  -v, --version   mostra a versão

Código de saída: 0 terminou, 1 não conseguiu escutar, 2 erro de uso,
130 ou 143 parado por um segundo Ctrl-C ou SIGTERM.`,
  listening: (address, mode) => `escutando em ${address} (modo ${mode})`,
  opened: (id, peer) => `#${id} conectado de ${peer}`,
  received: (id, size, preview) => `#${id} recebeu ${plural(size, "byte", "bytes")}: ${preview}`,
  closed: (id, echoed, secs) =>
    `#${id} fechada: ${plural(echoed, "byte ecoado", "bytes ecoados")} em ${seconds.format(secs)} s`,
  closedWithError: (id, echoed, secs, reason) =>
    `#${id} fechada: ${plural(echoed, "byte ecoado", "bytes ecoados")} em ${seconds.format(secs)} s (${reason})`,
  connectionError: (id, reason) => `#${id} erro: ${reason}`,
  onceStopsListening: "modo once: não aceita mais conexões",
  onceRefused: (id) => `#${id} recusada: o modo once atende um único cliente`,
  waiting: (id, ahead) => `#${id} esperando: ${plural(ahead, "cliente", "clientes")} na frente`,
  serving: (id) => `#${id} agora sendo atendido`,
  stopping: (open) =>
    `parando: sem novas conexões; esperando ${plural(open, "conexão aberta", "conexões abertas")} terminar (tecle Ctrl-C de novo para fechá-las já)`,
  stalled: (open) => `fechando ${plural(open, "conexão", "conexões")} sem tráfego desde a parada`,
  forced: (open) => `fechando ${plural(open, "conexão", "conexões")} agora`,
  summary: (connections, echoed, secs) =>
    `parado: ${plural(connections, "conexão", "conexões")}, ${plural(echoed, "byte ecoado", "bytes ecoados")}, ativo por ${seconds.format(secs)} s`,
  portInUse: (address, port) =>
    `erro: ${address} já está em uso; há outro servidor rodando? Escolha outra porta com --port (por exemplo --port ${port + 1}, ou --port 0 para qualquer uma livre)`,
  permissionDenied: (address) =>
    `erro: permissão negada para escutar em ${address}; portas abaixo de 1024 exigem privilégios, use --port 1024 ou acima`,
  addressNotAvailable: (host) =>
    `erro: não é possível escutar em ${host}: não é um endereço desta máquina (tente 127.0.0.1, ::1 ou 0.0.0.0)`,
  hostNotFound: (host) => `erro: não foi possível resolver o host "${host}"`,
  listenFailed: (address, reason) => `erro: não é possível escutar em ${address}: ${reason}`,
  resetByPeer: "conexão reiniciada (reset) pelo outro lado",
  limitReached: (max) =>
    `aviso: ${plural(max, "conexão aberta", "conexões abertas")}, o limite (--max-connections): fechando as novas`,
  limitRefused: (n, max) =>
    `aviso: ${plural(n, "outra conexão nova fechada", "outras conexões novas fechadas")} no último segundo (limite ${number.format(max)})`,
  idleClosed: (secs) => `sem tráfego por ${seconds.format(secs)} s, o --idle-timeout`,
  tlsKeyMismatch: "a chave não pertence ao certificado",
  connectionLost: "conexão perdida: o outro lado sumiu (reset ou fechada)",
  brokenPipe: "o outro lado parou de ler (broken pipe)",
  tlsUnreadable: (what, path, reason) =>
    `erro: não foi possível ler o arquivo TLS (${what}) "${path}" (${reason})`,
  tlsNotPem: (what, path) =>
    `erro: o arquivo TLS (${what}) "${path}" não está em formato PEM (-----BEGIN ...)`,
  tlsInvalid: (reason) => `erro: o certificado ou a chave TLS não foi aceito: ${reason}`,
  workers: (n) => (n === 1 ? "1 processo" : `${n} processos`),
  workersNeedConcurrent: (mode) =>
    `--workers acima de 1 exige --mode concurrent: no modo ${mode} um só processo precisa ver todos os clientes`,
  noReusePort:
    "aviso: SO_REUSEPORT não está disponível aqui, então um só processo atende a porta: rodando 1 processo",
  workerDied: (k, pid, how) =>
    `aviso: o processo ${k} (pid ${pid}) terminou inesperadamente (${how}); iniciando-o de novo`,
  workerFailing: (k) =>
    `erro: o processo ${k} termina logo depois de iniciar, de novo e de novo; parando o servidor`,
  exitedWith: (code, signal) => (signal ? `sinal ${signal}` : `código de saída ${code}`),
  internalError: (reason) => `erro: ${reason} (o servidor continua rodando)`,

  // cliente
  clientHelp: `Uso: bun run client [opções]

Cliente de eco, o lado ativo: envia cada linha digitada e mostra o eco.
Digite fim (ou tecle Ctrl-D) para fechar a conexão e sair; fim não é enviado.

Opções (variável de ambiente entre colchetes):
  --host HOST       servidor a que conectar (padrão 127.0.0.1)  [ECHO_HOST]
  --port PORTA      porta do servidor (padrão 5000)             [ECHO_PORT]
  --timeout SEG     desiste quando nenhum byte de um eco esperado chega
                    por esse tempo (padrão 10)
  --tls             conecta com TLS, verificando o certificado do servidor
                    com os certificados confiáveis do sistema
  --tls-ca ARQUIVO  verifica com este certificado de CA (PEM)
  --insecure        TLS sem verificar o servidor (só para testes)
  --trace           mostra cada evento do socket na saída de erro, com o tempo
  --lang LÍNGUA     en ou pt (padrão: de LC_ALL, LC_MESSAGES, LANG)
  -h, --help        mostra esta ajuda
  -v, --version     mostra a versão

Os ecos vão para a saída padrão, um por linha; o prompt e as linhas de estado
vão para a saída de erro.
Código de saída: 0 saiu com fim ou fim da entrada, 1 erro de conexão,
2 erro de uso.`,
  connected: (address) =>
    `conectado a ${address}; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
  connectedTls: (address) =>
    `conectado a ${address} com TLS; digite uma mensagem, ou fim (ou Ctrl-D) para sair`,
  insecureWarning:
    "aviso: --insecure: o certificado do servidor NÃO é verificado; qualquer um no caminho pode ler e alterar esta conversa",
  tlsRejected: (address, reason) =>
    `erro: o certificado TLS de ${address} não foi aceito: ${reason} (veja --tls-ca, ou --insecure para testes)`,
  prompt: "> ",
  bye: "conexão encerrada",
  echoDiffers: (sent) =>
    `aviso: o eco difere do${sent === 1 ? "" : "s"} ${plural(sent, "byte enviado", "bytes enviados")}`,
  unexpectedBytes: (n) =>
    `aviso: o servidor enviou ${plural(n, "byte", "bytes")} que não são eco de nenhuma mensagem`,
  refused: (address) =>
    `erro: conexão recusada por ${address}; inicie o servidor antes (bun run server), ou confira --host e --port`,
  unknownHost: (host) => `erro: host desconhecido "${host}"`,
  connectFailed: (address, reason) => `erro: não é possível conectar a ${address}: ${reason}`,
  echoTimeout: (secs) =>
    `erro: nenhum eco do servidor por ${seconds.format(secs)} s; desistindo (veja --timeout)`,
  serverClosed: "erro: o servidor fechou a conexão",
  serverReset: "erro: o servidor reiniciou (reset) a conexão",
};
