/*
 * What sending one GPS cycle's reports costs the sender on this machine:
 * a server woken 10 times a second (by a ticker process through a pipe,
 * as a pty wakes a daemon) sends a cycle's ~5 KB of reports to a real
 * `gpspipe -w` over TCP loopback, in turn as one send, as three (SKY,
 * GST, TPV) and as 25 sends of 200 bytes, and times each with its
 * thread's CPU clock and with the wall clock. Needs gpspipe on the PATH.
 *
 *   gcc -O2 -o send_cost scripts/floor/send_cost.c
 *   ./send_cost CYCLES NODELAY SNDBUF      e.g. ./send_cost 300 1 65536
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
static double twall(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static double tcpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  if(argc!=4||atoi(argv[1])<1){fprintf(stderr,"usage: %s CYCLES NODELAY SNDBUF\n",argv[0]);return 2;}
  int ncyc=atoi(argv[1]); int nodelay=atoi(argv[2]); int sndbuf=atoi(argv[3]);
  int ls=socket(AF_INET,SOCK_STREAM,0); int one=1; setsockopt(ls,SOL_SOCKET,SO_REUSEADDR,&one,4);
  struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(29470),.sin_addr.s_addr=htonl(0x7f000001)};
  if(bind(ls,(void*)&a,sizeof a)){perror("bind");return 1;} listen(ls,4);
  int p[2]; pipe(p);
  pid_t ticker=fork();
  if(!ticker){
    close(p[0]); struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t);
    for(int i=0;i<ncyc+30;i++){ t.tv_nsec+=100000000; if(t.tv_nsec>=1000000000){t.tv_nsec-=1000000000;t.tv_sec++;}
      clock_nanosleep(CLOCK_MONOTONIC,TIMER_ABSTIME,&t,0); write(p[1],"x",1);} _exit(0);}
  pid_t watcher=fork();
  if(!watcher){ execlp("sh","sh","-c","exec gpspipe -w 127.0.0.1:29470 > /dev/null",(char*)0); _exit(1);}
  int c=accept(ls,0,0);
  if(nodelay) setsockopt(c,IPPROTO_TCP,TCP_NODELAY,&one,4);
  if(sndbuf) setsockopt(c,SOL_SOCKET,SO_SNDBUF,&sndbuf,4);
  const char*ver="{\"class\":\"VERSION\",\"release\":\"3.22\",\"rev\":\"3.22\",\"proto_major\":3,\"proto_minor\":14}\r\n";
  write(c,ver,strlen(ver)); char buf[4096]; read(c,buf,sizeof buf);
  // a cycle's reports: TPV ~400 B, SKY ~4.2 KB (37 sats), GST ~200 B
  static char tpv[420], sky[4300], gst[220]; 
  memset(tpv,'a',sizeof tpv); memset(sky,'b',sizeof sky); memset(gst,'c',sizeof gst);
  memcpy(tpv,"{\"class\":\"TPV\",\"x\":\"",19); tpv[sizeof tpv-4]='"';tpv[sizeof tpv-3]='}';tpv[sizeof tpv-2]='\r';tpv[sizeof tpv-1]='\n';
  memcpy(sky,"{\"class\":\"SKY\",\"x\":\"",19); sky[sizeof sky-4]='"';sky[sizeof sky-3]='}';sky[sizeof sky-2]='\r';sky[sizeof sky-1]='\n';
  memcpy(gst,"{\"class\":\"GST\",\"x\":\"",19); gst[sizeof gst-4]='"';gst[sizeof gst-3]='}';gst[sizeof gst-2]='\r';gst[sizeof gst-1]='\n';
  static char all[5000]; int n=0; memcpy(all,sky,sizeof sky);n+=sizeof sky; memcpy(all+n,gst,sizeof gst);n+=sizeof gst; memcpy(all+n,tpv,sizeof tpv);n+=sizeof tpv;
  int ep=epoll_create1(0); struct epoll_event ev={.events=EPOLLIN,.data.fd=p[0]}; epoll_ctl(ep,EPOLL_CTL_ADD,p[0],&ev);
  #define NV 3
  double *res[NV]; int cnt[NV]={0}; for(int v=0;v<NV;v++) res[v]=calloc(ncyc,sizeof(double));
  double tot[NV]={0}, wt[NV]={0};
  for(int i=0;i<ncyc+30;i++){
    epoll_wait(ep,&ev,1,-1); char x; read(p[0],&x,1);
    int v=i%NV; double t0=tcpu(), w0=twall();
    if(v==0){ send(c,all,n,MSG_NOSIGNAL); }
    else if(v==1){ send(c,sky,sizeof sky,MSG_NOSIGNAL); send(c,gst,sizeof gst,MSG_NOSIGNAL); send(c,tpv,sizeof tpv,MSG_NOSIGNAL);} 
    else { for(int k=0;k<n;k+=200) send(c,all+k,(n-k)<200?(n-k):200,MSG_NOSIGNAL);} 
    double d=tcpu()-t0; double w=twall()-w0; if(i>=30){res[v][cnt[v]++]=d; tot[v]+=d; wt[v]+=w;}
  }
  const char*nm[NV]={"one send","three sends","25 sends"};
  for(int v=0;v<NV;v++){qsort(res[v],cnt[v],sizeof(double),cmp); printf("%-12s n=%d cpu median %.1f mean %.1f us, wall mean %.1f\n",nm[v],cnt[v],res[v][cnt[v]/2],tot[v]/cnt[v],wt[v]/cnt[v]);}
  // Only its own children: kill(0) would also end a script that ran it.
  fflush(stdout); kill(ticker,SIGTERM); kill(watcher,SIGTERM);
  waitpid(ticker,0,0); waitpid(watcher,0,0); return 0;
}
